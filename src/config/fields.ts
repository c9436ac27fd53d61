// The building blocks of the config schema's sections: bounded numbers, paths, credentials and topic
// names, so that every section bounds its values the same way.

import { z } from 'zod';

// Every value has a bound: a config file or a remote change can ask for a lot, never for anything.
export const qos = z.union([z.literal(0), z.literal(1), z.literal(2)]);
export const point = z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]);
/** Milliseconds between `min` and `max`. */
export const ms = (min: number, max: number) => z.number().int().min(min).max(max);
const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/;
/** A file system path of at most 4096 characters, no control characters. */
export const path = () => z.string().min(1).max(4096).regex(NO_CONTROL, 'control characters are not allowed');
/** A secret or user name of at most 1024 characters. */
export const credential = () => z.string().max(1024).regex(NO_CONTROL, 'control characters are not allowed');
/** MQTT topic segments: letters, digits, _ and -, joined by single slashes (no wildcards). */
export const TOPIC = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/;

export const MAX_IMAGE_SIDE = 4096;
