// Secrets stripped at every exit: URL credentials in anything shown, and the known secret values
// (MQTT and camera passwords) in every log line, whatever field or message carries them.

/** Replaces the user:password@ part of every URL in `text` by ***@. */
export function redactUrlCredentials(text: string): string {
  return text.replace(/([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/@\s"'?#]*@/g, '$1***@');
}

/** A function that removes `secrets` (as written and percent-encoded) and URL credentials from text. */
export function secretScrubber(secrets: ReadonlyArray<string | undefined>): (text: string) => string {
  const forms = new Set<string>();
  for (const secret of secrets) {
    // Very short values would blank out ordinary words; they are weak passwords anyway.
    if (!secret || secret.length < 4) continue;
    forms.add(secret);
    forms.add(encodeURIComponent(secret));
    forms.add(JSON.stringify(secret).slice(1, -1));
  }
  const escaped = [...forms]
    .sort((a, b) => b.length - a.length)
    .map((form) => form.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const pattern = escaped.length > 0 ? new RegExp(escaped.join('|'), 'g') : undefined;
  return (text) => {
    const withoutUrls = redactUrlCredentials(text);
    return pattern ? withoutUrls.replace(pattern, '***') : withoutUrls;
  };
}
