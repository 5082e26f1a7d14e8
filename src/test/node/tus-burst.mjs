// Uploads many small files with tus-js-client, a fixed number at a time from this one machine (one client address
// to the server), and prints one JSON line per failed upload and a summary line at the end. Driven by
// src/test/java/io/sluice/admission/AdmissionQueueServerTest.java; usable by hand for the full-size run:
//
//   node tus-burst.mjs '{"endpoint":"http://127.0.0.1:8080/files/","count":3000,"size":102400,"parallel":32}'
//
// Options (one JSON object as the only argument):
//   endpoint     creation URL (required)
//   count        files to upload (default 600)
//   size         bytes per file (default 100 KiB)
//   parallel     uploads in flight at once (default 32)
//   retryDelays  tus-js-client's retry delays in ms (default []: any refusal is a failure, as with a 4xx anyway)
//
// Events: failed (index, message, status, body) per failed upload; summary (done, failed, seconds, uploads: [{id,
// sha256}] of every finished upload, in index order). Exit status: 0 all done, 1 some failed, 2 bad options.

import { createHash, randomBytes } from 'node:crypto'
import tus from 'tus-js-client'

function emit(event, fields = {}) {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`)
}

function parseOptions(argv) {
  if (argv.length !== 1) throw new Error('expected exactly one argument: a JSON object of options')
  const o = JSON.parse(argv[0])
  if (!o.endpoint) throw new Error('"endpoint" is required')
  return {
    endpoint: o.endpoint,
    count: Number(o.count ?? 600),
    size: Number(o.size ?? 100 * 1024),
    parallel: Number(o.parallel ?? 32),
    retryDelays: o.retryDelays ?? [],
  }
}

/** One upload to its end: resolves {id, sha256} or {error}. Never rejects. */
function uploadOne(opts, index) {
  const body = randomBytes(opts.size)
  const sha256 = createHash('sha256').update(body).digest('hex')
  return new Promise((resolve) => {
    const upload = new tus.Upload(body, {
      endpoint: opts.endpoint,
      chunkSize: Infinity,
      retryDelays: opts.retryDelays,
      metadata: { filename: `burst-${index}.bin` },
      storeFingerprintForResuming: false,
      onSuccess({ lastResponse }) {
        resolve({ id: lastResponse?.getHeader('Sluice-Upload-Id') ?? null, sha256 })
      },
      onError(err) {
        const res = err.originalResponse
        resolve({
          error: {
            index,
            message: String(err.message ?? err).slice(0, 300),
            status: res ? res.getStatus() : null,
            body: res ? res.getBody() : null,
          },
        })
      },
    })
    upload.start()
  })
}

async function main() {
  let opts
  try {
    opts = parseOptions(process.argv.slice(2))
  } catch (e) {
    emit('error', { message: e.message })
    process.exitCode = 2
    return
  }
  const started = Date.now()
  const results = new Array(opts.count)
  let next = 0
  async function worker() {
    while (next < opts.count) {
      const i = next++
      results[i] = await uploadOne(opts, i)
      if (results[i].error) emit('failed', results[i].error)
    }
  }
  await Promise.all(Array.from({ length: Math.min(opts.parallel, opts.count) }, worker))
  const done = results.filter((r) => !r.error)
  emit('summary', {
    done: done.length,
    failed: opts.count - done.length,
    seconds: (Date.now() - started) / 1000,
    uploads: done,
  })
  process.exitCode = done.length === opts.count ? 0 : 1
}

main().catch((e) => {
  emit('error', { message: String(e?.stack ?? e) })
  process.exitCode = 1
})
