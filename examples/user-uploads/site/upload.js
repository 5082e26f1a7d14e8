// The page holds a short-lived token the application signed for its user, never an API key. tus-js-client sends it
// as `Authorization: Bearer` on every request, straight to Sluice; Sluice checks it, asks the application's
// pre-create hook, and stores the upload as owned by the token's subject.
let token = null
let sluice = null

document.getElementById('login').addEventListener('submit', async (e) => {
  e.preventDefault()
  const res = await fetch('/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: document.getElementById('user').value }),
  })
  const answer = await res.json()
  if (!res.ok) {
    document.getElementById('status').textContent = answer.error
    return
  }
  token = answer.token
  sluice = answer.sluice
  document.getElementById('status').textContent = 'ready'
  document.getElementById('files').disabled = false
})

document.getElementById('files').addEventListener('change', (e) => {
  for (const file of e.target.files) upload(file)
  e.target.value = ''
})

function upload (file) {
  const item = document.createElement('li')
  const bar = document.createElement('progress')
  bar.max = 1
  bar.value = 0
  item.textContent = `${file.name} `
  item.append(bar)
  item.dataset.name = file.name
  document.getElementById('log').append(item)
  const tusUpload = new tus.Upload(file, {
    endpoint: `${sluice}/files/`,
    headers: { Authorization: `Bearer ${token}` },
    metadata: { filename: file.name, filetype: file.type || 'application/octet-stream' },
    chunkSize: 5 * 1024 * 1024,
    retryDelays: [0, 1000, 3000],
    // A refusal (4xx) is the answer, not a network failure: do not retry it.
    onShouldRetry: (err) => {
      const status = err.originalResponse ? err.originalResponse.getStatus() : 0
      return status === 0 || status === 409 || status === 423 || status >= 500
    },
    onProgress: (sent, total) => { bar.value = total ? sent / total : 1 },
    onSuccess: () => {
      item.className = 'done'
      item.dataset.state = 'done'
      item.textContent = `${file.name}: stored`
    },
    onError: (err) => {
      let message = err.message
      const res = err.originalResponse
      if (res) {
        try { message = JSON.parse(res.getBody()).error.message } catch (_) { /* not JSON: keep it */ }
      }
      item.className = 'refused'
      item.dataset.state = 'refused'
      item.textContent = `${file.name}: ${message}`
    },
  })
  tusUpload.start()
}
