// The environment a tool we run (ffmpeg, gst-launch-1.0) gets: an allowlist of what such tools
// need to find themselves, their plugins and the locale, and nothing else. The daemon's own
// environment carries secrets (EDGESEG_MQTT_PASSWORD, EDGESEG_SOURCE_PASSWORD from the systemd
// EnvironmentFile) that /proc/PID/environ of a child would otherwise show.

const ALLOWED = new Set([
  'PATH',
  'HOME',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'XDG_RUNTIME_DIR',
  'LD_LIBRARY_PATH',
  // Where GStreamer finds its plugins and keeps its registry; GST_DEBUG for diagnosing a pipeline.
  'GST_PLUGIN_PATH',
  'GST_PLUGIN_PATH_1_0',
  'GST_PLUGIN_SYSTEM_PATH',
  'GST_PLUGIN_SYSTEM_PATH_1_0',
  'GST_PLUGIN_SCANNER',
  'GST_REGISTRY',
  'GST_REGISTRY_1_0',
  'GST_DEBUG',
  'GST_DEBUG_NO_COLOR',
]);

/** `env` reduced to the allowlist (and the locale's LC_* variables). */
export function childEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const kept: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env))
    if (value !== undefined && (ALLOWED.has(name) || name.startsWith('LC_'))) kept[name] = value;
  return kept;
}
