// @tus/server with FileStore: the comparison server of `./sluice bench tus` (bench/README.md). Not a test.
//
//   node tus-server.mjs --dir DIR [--host 127.0.0.1] [--port 0]
//
// Serves tus 1.0 under /files/ and stores uploads in DIR (FileStore: the bytes in DIR/<id>, the upload's
// description in DIR/<id>.json). Library defaults otherwise: FileStore does not fsync, which the benchmark
// accounts for by fsyncing the file itself after the last response. Prints "listening on http://HOST:PORT" once
// it accepts connections; stops on SIGTERM or SIGINT.
import { Server } from '@tus/server';
import { FileStore } from '@tus/file-store';

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) {
    if (dflt === undefined) {
      console.error(`tus-server: --${name} is required`);
      process.exit(2);
    }
    return dflt;
  }
  return process.argv[i + 1];
}

const host = arg('host', '127.0.0.1');
const port = Number(arg('port', '0'));
const directory = arg('dir');

const tus = new Server({
  path: '/files',
  datastore: new FileStore({ directory }),
});

const http = tus.listen({ host, port }, () => {
  const a = http.address();
  console.log(`tus-server (@tus/server, FileStore in ${directory}) listening on http://${a.address}:${a.port}`);
});
// Node's default 5-minute request timeout would cut a slow 4 GiB PATCH short; the benchmark bounds time itself.
http.requestTimeout = 15 * 60 * 1000;

let stopping = false;
function stop() {
  if (stopping) {
    return;
  }
  stopping = true;
  http.close(() => process.exit(0));
  http.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
