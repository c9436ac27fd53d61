// GStreamer pipeline descriptions built from typed elements. gst-launch-1.0 joins its argv into one
// pipeline description and parses it again, so an argv array alone does not keep a value in its
// place: a `"` or a `!` inside a value could start another element. Here element and property
// names are our own constants, numbers are written as numbers, and every string property value is
// written as a double-quoted GStreamer string with \ and " escaped: the parser hands it back as
// one literal value whatever it holds.

export type GstValue = string | number | boolean;

export interface GstElement {
  /** Element factory name, e.g. filesrc (a constant of ours, never a user value). */
  factory: string;
  properties?: Readonly<Record<string, GstValue>>;
}

/** A caps filter, e.g. video/x-raw,format=RGB,width=640,height=360 (numbers and constants only). */
export interface GstCaps {
  caps: string;
}

export type GstStage = GstElement | GstCaps;

const NAME = /^[a-z][a-z0-9-]*$/;
const CAPS = /^[a-z]+\/[a-z0-9-]+(\(memory:NVMM\))?(,[a-z-]+=[A-Za-z0-9]+)*$/;

/** One double-quoted GStreamer string; the parser unescapes \\ and \" back to the value. */
export function quoteGstString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function property(name: string, value: GstValue): string {
  if (!NAME.test(name)) throw new Error(`gst property name "${name}" is not a constant of ours`);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`gst property ${name}: not a finite number`);
    return `${name}=${value}`;
  }
  if (typeof value === 'boolean') return `${name}=${value}`;
  return `${name}=${quoteGstString(value)}`;
}

/** argv for gst-launch-1.0 (after its own options): stages linked by separate "!" elements. */
export function gstLaunchArgs(stages: readonly GstStage[]): string[] {
  const args: string[] = [];
  stages.forEach((stage, index) => {
    if (index > 0) args.push('!');
    if ('caps' in stage) {
      if (!CAPS.test(stage.caps)) throw new Error(`gst caps "${stage.caps}" are not built from constants`);
      args.push(stage.caps);
      return;
    }
    if (!NAME.test(stage.factory))
      throw new Error(`gst element "${stage.factory}" is not a constant of ours`);
    args.push(stage.factory);
    for (const [name, value] of Object.entries(stage.properties ?? {})) args.push(property(name, value));
  });
  return args;
}
