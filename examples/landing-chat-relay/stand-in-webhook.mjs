// A stand-in for the n8n webhook the chat talks to, for trying the example without n8n:
//
//   node examples/landing-chat-relay/stand-in-webhook.mjs 5678 primary
//   node examples/landing-chat-relay/stand-in-webhook.mjs 5679 fallback
//
// It answers every POST with JSON echoing the message and the files it got:
//   {"reply": "Thanks! You said: <message> (2 files: a.pdf, b.png)", "message": ..., "files": [{name, size}],
//    "answeredBy": "<label>"}
// Stop one with Ctrl-C to watch Sluice fail over to the other. Node >= 18, no npm package.

import { createServer } from 'node:http'

const [port = '5678', label = 'primary'] = process.argv.slice(2)

createServer(async (req, res) => {
  const chunks = []
  for await (const c of req) chunks.push(c)
  let message = null
  const files = []
  try {
    const form = await new Response(Buffer.concat(chunks), { headers: { 'content-type': req.headers['content-type'] ?? '' } })
      .formData()
    message = form.get('message')
    for (const f of form.getAll('files')) if (typeof f !== 'string') files.push({ name: f.name, size: f.size })
  } catch {
    // not multipart: a JSON chat message
    try { message = JSON.parse(Buffer.concat(chunks).toString('utf8')).message ?? null } catch { /* nothing */ }
  }
  const names = files.map((f) => f.name).join(', ')
  const reply = `Thanks! You said: ${message}` + (files.length ? ` (${files.length} file${files.length > 1 ? 's' : ''}: ${names})` : '')
  const body = JSON.stringify({ reply, message, files, answeredBy: label })
  console.log(`${label}: ${req.method} ${req.url} message=${JSON.stringify(message)} files=${files.length}`)
  res.writeHead(200, { 'content-type': 'application/json' }).end(body)
}).listen(Number(port), '127.0.0.1', () => console.log(`${label} webhook on http://127.0.0.1:${port}/webhook/chat`))
