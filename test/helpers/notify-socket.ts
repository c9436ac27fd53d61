// A stand-in for systemd's notify socket: a unix datagram socket bound by python3 with SO_PASSCRED,
// as systemd binds its own, so each datagram arrives with the sender's PID (what NotifyAccess=main
// checks). Every datagram is printed as "from <pid>: <message>" (newlines as "|").

import { type ChildProcess, spawn } from 'node:child_process';
import { after } from 'node:test';
import { OutputWatcher } from './output.js';

const LISTENER = `
import socket, struct, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind("\\0" + path[1:] if path.startswith("@") else path)
print("ready", flush=True)
while True:
    data, ancillary, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
    pid = [struct.unpack("iII", d[:12])[0] for level, kind, d in ancillary
           if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS]
    print(f"from {pid[0] if pid else '?'}: {data.decode().replace(chr(10), '|')}", flush=True)
`;

const listeners: ChildProcess[] = [];
after(() => {
  for (const listener of listeners) listener.kill();
});

/** Binds a notify socket at `path` ('@name' for an abstract one); resolves once it is bound. */
export async function listenNotifySocket(path: string): Promise<OutputWatcher> {
  const listener = spawn('python3', ['-c', LISTENER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  listeners.push(listener);
  const received = new OutputWatcher(listener.stdout);
  await received.waitFor(/^ready$/m, { timeoutMs: 20_000 });
  return received;
}
