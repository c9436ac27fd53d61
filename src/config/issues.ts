// Zod issues as one line a person can act on: `a.b: message; c: message`, keys dotted as in the
// YAML file or the request that held them.

import type { z } from 'zod';

export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const key = issue.path.join('.');
      if (issue.code === 'unrecognized_keys') {
        const keys = issue.keys.map((name) => (key ? `${key}.${name}` : name));
        return `${keys.join(', ')}: unknown ${keys.length === 1 ? 'key' : 'keys'}`;
      }
      return key ? `${key}: ${issue.message}` : issue.message;
    })
    .join('; ');
}
