// Topic names under <base_topic>/<device_id>/. docs/mqtt-api.md documents each one.

export interface Topics {
  base: string;
  status: string;
  health: string;
  config: string;
  info: string;
  summary: string;
  mask: string;
  stats: string;
  overlay: string;
  snapshot: string;
  requestPrefix: string;
  requestWildcard: string;
  response(name: string): string;
}

export function topicsFor(baseTopic: string, deviceId: string): Topics {
  const base = `${baseTopic.replace(/\/+$/, '')}/${deviceId}`;
  return {
    base,
    status: `${base}/status`,
    health: `${base}/health`,
    config: `${base}/config`,
    info: `${base}/info`,
    summary: `${base}/summary`,
    mask: `${base}/mask`,
    stats: `${base}/stats`,
    overlay: `${base}/overlay`,
    snapshot: `${base}/snapshot`,
    requestPrefix: `${base}/request/`,
    requestWildcard: `${base}/request/#`,
    response: (name: string) => `${base}/response/${name}`,
  };
}
