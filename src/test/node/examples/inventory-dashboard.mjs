// The inventory dashboard page's data path under Node, with the page's own module
// (examples/inventory-dashboard/site/lowstock.js): listen on GET /api/v1/events, upload a report as the page does
// (multipart: pipeline + file), wait for that job's job.succeeded event, then read its output and list the
// low-stock items. Driven by src/test/java/io/sluice/examples/InventoryDashboardExampleTest.java:
//
//   node examples/inventory-dashboard.mjs http://127.0.0.1:8080 report.xlsx
//
// Prints JSON lines: {"event":"uploaded",status,job}, {"event":"succeeded",job}, {"event":"lowstock",rows,
// skipped,skus,latestJob}; or {"event":"error",message}. Exit status 0 on success, 1 otherwise.
// No npm package is needed (Node >= 20: fetch, FormData, fs.openAsBlob).

import { openAsBlob, readFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const modulePath = join(here, '..', '..', '..', '..', 'examples', 'inventory-dashboard', 'site', 'lowstock.js')

function emit(event, fields = {}) {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`)
}

// The page loads lowstock.js as an ES module; outside a "type": "module" package Node needs it as one too.
const page = await import(`data:text/javascript;base64,${readFileSync(modulePath).toString('base64')}`)

/** Reads server-sent events from a fetch response, calling onEvent(type, data) for each; stops when it returns true. */
async function readEvents(res, onEvent) {
  const decoder = new TextDecoder()
  let buffer = ''
  for await (const chunk of res.body) {
    buffer += decoder.decode(chunk, { stream: true })
    let end
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      let type = 'message'
      const data = []
      for (const line of frame.split('\n')) {
        if (line.startsWith('event:')) type = line.slice(6).trim()
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart())
      }
      if (data.length && onEvent(type, JSON.parse(data.join('\n')))) return true
    }
  }
  return false
}

async function main() {
  const [base, file] = process.argv.slice(2)
  if (!base || !file) throw new Error('usage: inventory-dashboard.mjs <base URL> <report.xlsx>')
  const abort = new AbortController()
  const stream = await fetch(`${base}/api/v1/events`, { headers: { Accept: 'text/event-stream' }, signal: abort.signal })
  if (!stream.ok) throw new Error(`events: HTTP ${stream.status}`)

  const form = new FormData()
  form.append('pipeline', page.PIPELINE)
  form.append('file', await openAsBlob(file), basename(file))
  const res = await fetch(`${base}/api/v1/uploads`, { method: 'POST', body: form })
  const body = await res.json()
  if (res.status !== 201) throw new Error(`upload: HTTP ${res.status} ${JSON.stringify(body)}`)
  const jobId = body.uploads[0].job.id
  emit('uploaded', { status: res.status, job: body.uploads[0].job })

  let succeeded = null
  await readEvents(stream, (type, event) => {
    const job = event.data && event.data.job
    if (!job || job.id !== jobId) return false
    if (type === 'job.failed' || type === 'job.cancelled') throw new Error(`job ${type}: ${JSON.stringify(job)}`)
    if (type === 'job.succeeded') succeeded = job
    return succeeded !== null
  })
  abort.abort()
  if (!succeeded) throw new Error('the event stream ended before the job succeeded')
  emit('succeeded', { job: succeeded })

  const { items, rows, skipped } = await page.loadLowStock(base, succeeded.id)
  const latest = await page.latestJob(base)
  emit('lowstock', { rows, skipped, skus: items.map((i) => i.sku), first: items[0] ?? null,
    latestJob: latest && latest.id })
}

main().then(() => process.exit(0), (e) => {
  emit('error', { message: String(e && e.stack || e) })
  process.exit(1)
})
