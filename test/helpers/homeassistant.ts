// Home Assistant's documented MQTT discovery schema for the entities edgeseg announces (MQTT
// sensor, binary sensor, device and origin mappings, availability list: the keys listed in Home
// Assistant's integration docs), strict so that a misspelt key fails; and a Jinja-compatible
// renderer (nunjucks) for the value templates.

import nunjucks from 'nunjucks';
import { z } from 'zod';

const availability = z
  .object({
    topic: z.string().min(1),
    payload_available: z.string().optional(),
    payload_not_available: z.string().optional(),
    value_template: z.string().optional(),
  })
  .strict();

const device = z
  .object({
    identifiers: z.array(z.string().min(1)).min(1),
    connections: z.array(z.tuple([z.string(), z.string()])).optional(),
    name: z.string().min(1),
    manufacturer: z.string().optional(),
    model: z.string().optional(),
    model_id: z.string().optional(),
    serial_number: z.string().optional(),
    sw_version: z.string().optional(),
    hw_version: z.string().optional(),
    suggested_area: z.string().optional(),
    configuration_url: z.string().url().optional(),
    via_device: z.string().optional(),
  })
  .strict();

const origin = z
  .object({
    name: z.string().min(1),
    sw_version: z.string().optional(),
    support_url: z.string().url().optional(),
  })
  .strict();

/** Keys every MQTT entity documents (availability, device, naming, templates). */
const entity = {
  availability: z.array(availability).min(1).optional(),
  availability_mode: z.enum(['all', 'any', 'latest']).optional(),
  availability_template: z.string().optional(),
  availability_topic: z.string().optional(),
  device: device.optional(),
  origin: origin.optional(),
  enabled_by_default: z.boolean().optional(),
  encoding: z.string().optional(),
  entity_category: z.enum(['config', 'diagnostic']).optional(),
  entity_picture: z.string().optional(),
  expire_after: z.number().int().nonnegative().optional(),
  force_update: z.boolean().optional(),
  icon: z.string().optional(),
  json_attributes_template: z.string().optional(),
  json_attributes_topic: z.string().optional(),
  name: z.string().nullable().optional(),
  object_id: z.string().optional(),
  payload_available: z.string().optional(),
  payload_not_available: z.string().optional(),
  qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional(),
  state_topic: z.string().min(1),
  unique_id: z.string().min(1).optional(),
  value_template: z.string().optional(),
};

export const SensorDiscoverySchema = z
  .object({
    ...entity,
    device_class: z.string().optional(),
    last_reset_value_template: z.string().optional(),
    options: z.array(z.string()).optional(),
    state_class: z.enum(['measurement', 'total', 'total_increasing']).optional(),
    suggested_display_precision: z.number().int().nonnegative().optional(),
    unit_of_measurement: z.string().optional(),
  })
  .strict();

export const BinarySensorDiscoverySchema = z
  .object({
    ...entity,
    device_class: z.string().optional(),
    off_delay: z.number().int().nonnegative().optional(),
    payload_off: z.string().optional(),
    payload_on: z.string().optional(),
  })
  .strict();

/** Checks one discovery message against its component's schema and the rules between keys. */
export function checkDiscovery(topic: string, payload: unknown): z.infer<typeof SensorDiscoverySchema> {
  const component = topic.split('/')[1];
  const schema =
    component === 'sensor'
      ? SensorDiscoverySchema
      : component === 'binary_sensor'
        ? BinarySensorDiscoverySchema
        : undefined;
  if (!schema) throw new Error(`${topic}: edgeseg announces sensors and binary sensors only`);
  const parsed = schema.parse(payload);
  if (parsed.availability && parsed.availability_topic)
    throw new Error(`${topic}: availability and availability_topic must not be used together`);
  if (parsed.device && !parsed.unique_id) throw new Error(`${topic}: a device mapping needs a unique_id`);
  return parsed;
}

const jinja = new nunjucks.Environment(null, { throwOnUndefined: true, autoescape: false });

/** Renders a Home Assistant value template with `value_json` = the message's JSON, as its MQTT integration does. */
export function renderValueTemplate(template: string, payload: Buffer | string): string {
  return jinja.renderString(template, { value_json: JSON.parse(payload.toString()) }).trim();
}
