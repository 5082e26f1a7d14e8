// Uploads one file with tus-js-client, optionally aborting midway and resuming, and prints one JSON line per
// event on stdout. Driven by src/test/java/io/sluice/tus/TusJsClientTest.java; usable by hand too:
//
//   node tus-upload.mjs '{"endpoint":"http://127.0.0.1:8080/files/","file":"big.bin","chunkSize":5242880,
//                         "protocol":"tus-v1","abortAfterBytes":52428800}'
//
// Options (one JSON object as the only argument):
//   endpoint         creation URL (required unless uploadUrl is given)
//   file             path of the file to upload (required); streamed from disk, one read stream per chunk
//   chunkSize        bytes per PATCH (default 5 MiB)
//   protocol         "tus-v1" (default) or "ietf-draft-05"
//   abortAfterBytes  abort (upload.abort()) once this many bytes were sent, then resume with a new Upload from
//                    the saved upload URL and finish
//   uploadUrl        resume this upload instead of creating one
//   metadata         Upload-Metadata (default {filename: <file's name>})
//   retryDelays      tus-js-client's retry delays in ms (default [] : an error is reported, not retried)
//   trace            also print every request (method, URL, headers) and response (status, headers)
//
// Events: start, url, request/response (trace), progress (each 10% step), chunk (bytes the server accepted), aborted,
// resume (the offset the HEAD reported), done (url, uploadId), error (message, status, body).
// Exit status: 0 done, 1 upload error, 2 bad options.

import { createReadStream, statSync } from 'node:fs'
import { basename } from 'node:path'
import tus from 'tus-js-client'

const MiB = 1024 * 1024

function emit(event, fields = {}) {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`)
}

function parseOptions(argv) {
  if (argv.length !== 1) {
    throw new Error('expected exactly one argument: a JSON object of options')
  }
  const o = JSON.parse(argv[0])
  if (!o.file) throw new Error('"file" is required')
  if (!o.endpoint && !o.uploadUrl) throw new Error('"endpoint" or "uploadUrl" is required')
  const protocol = o.protocol ?? 'tus-v1'
  if (!['tus-v1', 'ietf-draft-05'].includes(protocol)) {
    throw new Error(`"protocol" must be tus-v1 or ietf-draft-05, not ${protocol}`)
  }
  return {
    endpoint: o.endpoint ?? null,
    file: o.file,
    chunkSize: Number(o.chunkSize ?? 5 * MiB),
    protocol,
    abortAfterBytes: o.abortAfterBytes == null ? null : Number(o.abortAfterBytes),
    uploadUrl: o.uploadUrl ?? null,
    metadata: o.metadata ?? { filename: basename(o.file) },
    retryDelays: o.retryDelays ?? [],
    trace: Boolean(o.trace),
  }
}

/**
 * Runs one tus-js-client Upload to its end. Resolves with {outcome: 'done' | 'aborted' | 'error', url}.
 *
 * @param phase      "first" or "resume", tagged on every event
 * @param uploadUrl  resume this URL (the Upload then has no endpoint, so a failed HEAD is an error rather than a
 *                   silent new upload from offset 0)
 * @param abortAt    abort once this many bytes were sent (null: never)
 */
function runUpload(opts, size, phase, uploadUrl, abortAt) {
  return new Promise((resolve) => {
    let upload = null
    let lastDecile = -1
    let settled = false
    let aborting = false
    const finish = (result) => {
      if (!settled) {
        settled = true
        resolve(result)
      }
    }

    upload = new tus.Upload(createReadStream(opts.file), {
      endpoint: uploadUrl ? null : opts.endpoint,
      uploadUrl,
      chunkSize: opts.chunkSize,
      protocol: opts.protocol,
      metadata: opts.metadata,
      retryDelays: opts.retryDelays,
      // Resuming goes through uploadUrl explicitly; nothing is kept between runs.
      storeFingerprintForResuming: false,

      onUploadUrlAvailable() {
        emit('url', { phase, url: upload.url })
      },
      onBeforeRequest(req) {
        if (opts.trace) {
          emit('request', { phase, method: req.getMethod(), url: req.getURL(), headers: requestHeaders(req) })
        }
      },
      onAfterResponse(req, res) {
        if (opts.trace) {
          const raw = res.getUnderlyingObject()
          emit('response', { phase, method: req.getMethod(), status: res.getStatus(), headers: raw?.headers ?? {} })
        }
        if (phase === 'resume' && req.getMethod() === 'HEAD') {
          emit('resume', { phase, status: res.getStatus(), offset: Number(res.getHeader('Upload-Offset')) })
        }
      },
      onProgress(bytesSent, bytesTotal) {
        const decile = bytesTotal > 0 ? Math.floor((bytesSent * 10) / bytesTotal) : 0
        if (decile > lastDecile) {
          lastDecile = decile
          emit('progress', { phase, bytesSent, bytesTotal, percent: decile * 10 })
        }
        if (abortAt != null && bytesSent >= abortAt && !aborting) {
          aborting = true
          emit('aborted', { phase, bytesSent, url: upload.url })
          // Not terminated: the upload stays on the server to be resumed.
          upload.abort(false).then(() => finish({ outcome: 'aborted', url: upload.url }))
        }
      },
      onChunkComplete(chunkSize, bytesAccepted, bytesTotal) {
        emit('chunk', { phase, chunkSize, bytesAccepted, bytesTotal })
      },
      onSuccess({ lastResponse }) {
        emit('done', {
          phase,
          url: upload.url,
          uploadId: lastResponse?.getHeader('Sluice-Upload-Id') ?? null,
          size,
        })
        finish({ outcome: 'done', url: upload.url })
      },
      onError(err) {
        const res = err.originalResponse
        emit('error', {
          phase,
          message: String(err.message ?? err),
          status: res ? res.getStatus() : null,
          body: res ? res.getBody() : null,
        })
        finish({ outcome: 'error', url: upload.url })
      },
    })
    emit('start', { phase, protocol: opts.protocol, size, chunkSize: opts.chunkSize, uploadUrl })
    upload.start()
  })
}

function requestHeaders(req) {
  // The Node http stack keeps the headers it will send in _headers; tus-js-client has no public getter for all.
  return { ...(req._headers ?? {}) }
}

async function main() {
  let opts
  try {
    opts = parseOptions(process.argv.slice(2))
  } catch (e) {
    emit('error', { phase: 'options', message: e.message })
    process.exitCode = 2
    return
  }
  const size = statSync(opts.file).size
  let result = await runUpload(opts, size, 'first', opts.uploadUrl, opts.abortAfterBytes)
  if (result.outcome === 'aborted') {
    if (!result.url) {
      emit('error', { phase: 'first', message: 'aborted before the upload had a URL: nothing to resume' })
      process.exitCode = 1
      return
    }
    result = await runUpload(opts, size, 'resume', result.url, null)
  }
  process.exitCode = result.outcome === 'done' ? 0 : 1
}

main().catch((e) => {
  emit('error', { phase: 'script', message: String(e?.stack ?? e) })
  process.exitCode = 1
})
