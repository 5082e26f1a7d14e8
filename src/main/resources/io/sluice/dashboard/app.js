// Sluice dashboard: uploads over tus 1.0, the jobs view (live over server-sent events) and the system panel.
// Plain browser JavaScript, no build step, no dependencies; served by io.sluice.site.Dashboard under a CSP that
// allows this origin only (so no inline handlers or styles: everything is wired here).
'use strict'

;(() => {
  const $ = (id) => document.getElementById(id)
  const KiB = 1024
  const MiB = 1024 * KiB

  /** Bytes per PATCH. Each chunk is one request: the unit that is retried and that a pause loses at most. */
  const CHUNK_SIZE = 5 * MiB
  /** Files uploading at once; more wait their turn. */
  const MAX_PARALLEL = 3
  /** After a network error (not an HTTP answer), wait this long before each new try; then give up. */
  const NETWORK_RETRY_MS = [1000, 2000, 4000, 8000, 15000]
  /** Consecutive 503/429 answers an upload waits through (each for its Retry-After) before it gives up. */
  const MAX_BUSY_WAITS = 60
  const POLL_MS = 2000
  const KEY_STORE = 'sluice.apiKey'
  const TUS_ENDPOINT = new URL(document.body.dataset.tusEndpoint || '/files/', location.href).href

  // ---------------------------------------------------------------------------------------------------------------
  // API access and the API key. An open server never answers 401, so it is never asked for a key.

  const apiKey = () => sessionStorage.getItem(KEY_STORE)

  function withAuth (headers = {}) {
    const key = apiKey()
    if (key) headers.Authorization = 'Bearer ' + key
    return headers
  }

  let keyWanted = null // a promise resolved when the user entered a key, while the dialog is open

  /** Opens the key dialog once, however many requests were refused; resolves when a key was entered. */
  function askForKey () {
    if (!keyWanted) {
      keyWanted = new Promise((resolve) => {
        $('key-error').hidden = !apiKey()
        $('key-input').value = ''
        const dialog = $('key-dialog')
        dialog.showModal()
        $('key-form').onsubmit = (e) => {
          e.preventDefault()
          const key = $('key-input').value.trim()
          if (!key) return
          sessionStorage.setItem(KEY_STORE, key)
          $('forget-key').hidden = false
          dialog.close()
          keyWanted = null
          resolve()
          events.reconnect()
        }
      })
    }
    return keyWanted
  }

  /** fetch() with the key; a 401 asks for a key and tries again with it. */
  async function send (url, options = {}) {
    for (;;) {
      const res = await fetch(url, { cache: 'no-store', ...options, headers: withAuth({ ...(options.headers || {}) }) })
      if (res.status !== 401) return res
      await askForKey()
    }
  }

  /** The error of a non-2xx answer: Sluice's JSON {error: {code, message}} when there is one. */
  async function httpError (res) {
    const err = new Error(`HTTP ${res.status}`)
    err.status = res.status
    err.code = 'http_' + res.status
    try {
      const body = await res.json()
      if (body && body.error) {
        err.code = body.error.code
        err.message = body.error.message || err.message
        err.details = body.error.details
      }
    } catch (_) { /* not JSON: keep the status */ }
    return err
  }

  async function getJson (url) {
    const res = await send(url)
    if (!res.ok) throw await httpError(res)
    return res.json()
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Formatting

  function bytes (n) {
    if (n == null || n < 0) return 'n/a'
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
    let i = 0
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++ }
    return (i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)) + ' ' + units[i]
  }

  function duration (s) {
    if (s == null || s < 0) return ''
    s = Math.round(s)
    if (s < 60) return s + ' s'
    if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s'
    return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min'
  }


  function el (tag, cls, text) {
    const e = document.createElement(tag)
    if (cls) e.className = cls
    if (text != null) e.textContent = text
    return e
  }

  /** Waits `ms`, or rejects at once when `signal` aborts (a pause during a Retry-After wait). */
  function sleep (ms, signal) {
    return new Promise((resolve, reject) => {
      if (signal && signal.aborted) { reject(signal.reason); return }
      const t = setTimeout(resolve, ms)
      if (signal) signal.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason) }, { once: true })
    })
  }

  /** Retry-After in ms: delta-seconds or an HTTP date (RFC 9110 10.2.3); 1 s when absent, at most 5 min. */
  function retryAfterMs (res) {
    const raw = res.headers.get('Retry-After')
    let ms = 1000
    if (raw && /^\d+$/.test(raw.trim())) ms = Number(raw.trim()) * 1000
    else if (raw && !isNaN(Date.parse(raw))) ms = Date.parse(raw) - Date.now()
    return Math.min(Math.max(ms, 1000), 300000)
  }

  function b64 (text) {
    let bin = ''
    for (const b of new TextEncoder().encode(text)) bin += String.fromCharCode(b)
    return btoa(bin)
  }

  // ---------------------------------------------------------------------------------------------------------------
  // The tus 1.0 client: creation (Upload-Length, Upload-Metadata), PATCH in chunks, resume through HEAD.

  class Busy extends Error {
    constructor (res, ms) { super(`server busy (HTTP ${res.status})`); this.ms = ms; this.status = res.status }
  }

  class NetworkError extends Error {}

  const names = new Map() // upload id -> file name, for the jobs view

  /**
   * One file's upload. Its URL is kept in localStorage under a fingerprint of the file (name, size, modification
   * time, pipeline), so that a reload, a pause or a dropped connection resumes where the server says it is (HEAD)
   * instead of starting again. The entry is removed once the upload finished or the server forgot it.
   */
  class TusUpload {
    constructor (file, pipeline, view) {
      this.file = file
      this.pipeline = pipeline
      this.view = view
      this.url = null
      this.offset = 0
      this.state = 'queued'
      this.controller = null
      this.samples = [] // recent [bytes, ms] of PATCHes, for the speed
      this.uploadId = null
      this.jobId = null
    }

    fingerprint () {
      const f = this.file
      return ['sluice.tus', TUS_ENDPOINT, f.name, f.size, f.lastModified, this.pipeline].join('|')
    }

    pause () {
      if (this.controller) this.controller.abort(new DOMException('paused', 'AbortError'))
    }

    /** Runs until the upload is done, paused or failed; never throws. */
    async run () {
      const controller = this.controller = new AbortController()
      const signal = controller.signal
      let networkFailures = 0
      let busyWaits = 0
      this.set('uploading', this.offset > 0 ? 'resuming' : 'starting')
      for (;;) {
        try {
          if (this.url) {
            await this.head(signal) // where the server is: after a pause, an error or a reload
          } else {
            await this.resumeOrCreate(signal)
          }
          while (this.offset < this.file.size) {
            await this.patch(signal)
            networkFailures = 0
            busyWaits = 0
          }
          this.finished()
          return
        } catch (e) {
          if (signal.aborted) {
            this.set('paused', `paused at ${bytes(this.offset)}`)
            return
          }
          try {
            if (e instanceof Busy) {
              if (++busyWaits > MAX_BUSY_WAITS) throw new Error('the server stayed busy; try again later')
              this.set('retrying', `server busy (${e.status}), retrying in ${duration(e.ms / 1000)}`)
              await sleep(e.ms, signal)
              this.set('uploading', 'resuming')
            } else if (e instanceof NetworkError) {
              if (networkFailures >= NETWORK_RETRY_MS.length) throw new Error('network error: ' + e.message)
              const ms = NETWORK_RETRY_MS[networkFailures++]
              this.set('retrying', `connection lost, retrying in ${duration(ms / 1000)}`)
              await sleep(ms, signal)
              this.set('uploading', 'resuming')
            } else if (e.code === 'offset_mismatch') {
              // The server has another offset than we thought (a PATCH that failed midway): HEAD and go on.
            } else {
              throw e
            }
          } catch (fatal) {
            if (signal.aborted) {
              this.set('paused', `paused at ${bytes(this.offset)}`)
            } else {
              this.fail(fatal)
            }
            return
          }
        }
      }
    }

    /** A request of this upload: network failures and 503/429/423 become NetworkError and Busy. */
    async request (url, options) {
      let res
      try {
        res = await send(url, { ...options, headers: { 'Tus-Resumable': '1.0.0', ...options.headers } })
      } catch (e) {
        if (options.signal && options.signal.aborted) throw e
        throw new NetworkError(e.message)
      }
      if (res.status === 503 || res.status === 429) throw new Busy(res, retryAfterMs(res))
      // Locked: the PATCH a pause aborted may still hold the upload for a moment on the server.
      if (res.status === 423) throw new Busy(res, 1000)
      return res
    }

    async resumeOrCreate (signal) {
      const saved = localStorage.getItem(this.fingerprint())
      if (saved) {
        this.url = saved
        try {
          await this.head(signal)
          return
        } catch (e) {
          if (!(e.status >= 400 && e.status < 500)) throw e
          // Expired, terminated or unknown: start over.
          localStorage.removeItem(this.fingerprint())
          this.url = null
          this.offset = 0
        }
      }
      await this.create(signal)
    }

    async create (signal) {
      const metadata = [['filename', this.file.name], ['filetype', this.file.type], ['pipeline', this.pipeline]]
        .filter(([, v]) => v).map(([k, v]) => k + ' ' + b64(v)).join(',')
      const res = await this.request(TUS_ENDPOINT, {
        method: 'POST',
        signal,
        headers: { 'Upload-Length': String(this.file.size), 'Upload-Metadata': metadata }
      })
      if (res.status !== 201) throw await httpError(res)
      this.url = new URL(res.headers.get('Location'), TUS_ENDPOINT).href
      this.offset = Number(res.headers.get('Upload-Offset') || 0)
      localStorage.setItem(this.fingerprint(), this.url)
      this.set('uploading', 'created')
    }

    async head (signal) {
      const res = await this.request(this.url, { method: 'HEAD', signal })
      if (!res.ok) {
        const err = new Error(`the upload is gone (HTTP ${res.status})`)
        err.status = res.status
        if (res.status === 404 || res.status === 410) localStorage.removeItem(this.fingerprint())
        throw err
      }
      this.offset = Number(res.headers.get('Upload-Offset'))
      this.uploadId = res.headers.get('Sluice-Upload-Id') || this.uploadId
      this.view.li.dataset.resumedAt = String(this.offset)
      this.progress()
    }

    async patch (signal) {
      const end = Math.min(this.offset + CHUNK_SIZE, this.file.size)
      const started = performance.now()
      const res = await this.request(this.url, {
        method: 'PATCH',
        signal,
        headers: { 'Upload-Offset': String(this.offset), 'Content-Type': 'application/offset+octet-stream' },
        body: this.file.slice(this.offset, end)
      })
      if (res.status !== 204 && res.status !== 200) throw await httpError(res)
      const offset = Number(res.headers.get('Upload-Offset'))
      this.samples.push([offset - this.offset, performance.now() - started])
      if (this.samples.length > 4) this.samples.shift()
      this.offset = offset
      this.uploadId = res.headers.get('Sluice-Upload-Id') || this.uploadId
      this.jobId = res.headers.get('Sluice-Job-Id') || this.jobId
      this.progress()
    }

    finished () {
      localStorage.removeItem(this.fingerprint())
      unfinished.delete(this.fingerprint())
      if (this.uploadId) names.set(this.uploadId, this.file.name)
      this.set('done', this.jobId ? 'uploaded; job ' + this.jobId : 'uploaded')
      document.dispatchEvent(new CustomEvent('sluice:uploaded', { detail: { uploadId: this.uploadId } }))
      if (this.jobId) jobsView.follow(this.jobId)
    }

    fail (e) {
      const reason = e.code && !e.code.startsWith('http_') ? `${e.code}: ${e.message}` : e.message
      // Refused for good (type, size, quota, the application's hook) or forgotten by the server: resuming would
      // only answer 404.
      if (e.status === 413 || e.status === 415 || e.status === 404 || e.status === 410 || e.code === 'hook_refused') {
        localStorage.removeItem(this.fingerprint())
        unfinished.delete(this.fingerprint())
        this.set('refused', 'refused: ' + reason)
      } else {
        this.set('error', reason)
      }
    }

    /** Forgets this upload: its row, its saved URL and, when the server still holds it, its bytes (tus DELETE). */
    async remove () {
      this.pause()
      localStorage.removeItem(this.fingerprint())
      unfinished.delete(this.fingerprint())
      const i = scheduler.waiting.indexOf(this)
      if (i >= 0) scheduler.waiting.splice(i, 1)
      this.view.li.remove()
      if (this.url && this.state !== 'done' && this.state !== 'refused') {
        try { await send(this.url, { method: 'DELETE', headers: { 'Tus-Resumable': '1.0.0' } }) } catch (_) { }
      }
    }

    /** Bytes per second over the last few chunks. */
    speed () {
      const [b, ms] = this.samples.reduce(([b, ms], [b2, ms2]) => [b + b2, ms + ms2], [0, 0])
      return ms > 0 ? b / (ms / 1000) : 0
    }

    set (state, status) {
      this.state = state
      this.view.render(this, status)
      scheduler.pump()
    }

    progress () {
      this.view.render(this)
    }
  }

  /** One row of the upload list: name, bar, percentage, speed, status, pause/resume. */
  class UploadView {
    constructor (file) {
      this.li = el('li')
      this.li.dataset.state = 'queued'
      this.li.append(el('span', 'name', file.name), this.controls = el('span', 'controls'))
      this.pauseButton = el('button', 'pause', 'Pause')
      this.resumeButton = el('button', 'resume', 'Resume')
      this.resumeButton.hidden = true
      this.removeButton = el('button', 'remove', 'Remove')
      this.removeButton.hidden = true
      this.controls.append(this.pauseButton, this.resumeButton, this.removeButton)
      const line = el('div', 'line')
      this.bar = el('progress')
      this.bar.max = 100
      this.bar.value = 0
      this.pct = el('span', 'pct', '0 %')
      this.speedText = el('span', 'speed', '')
      line.append(this.bar, this.pct, this.speedText)
      this.status = el('div', 'line status', 'waiting · ' + bytes(file.size))
      this.li.append(line, this.status)
      $('uploads').prepend(this.li)
    }

    render (u, status) {
      const pct = u.file.size > 0 ? Math.floor((100 * u.offset) / u.file.size) : 0
      this.bar.value = pct
      this.pct.textContent = pct + ' %'
      this.li.dataset.state = u.state
      this.li.dataset.offset = String(u.offset)
      if (u.uploadId) this.li.dataset.uploadId = u.uploadId
      if (u.jobId) this.li.dataset.jobId = u.jobId
      const speed = u.speed()
      this.speedText.textContent = u.state === 'uploading' && speed > 0 ? bytes(speed) + '/s' : ''
      if (status != null) this.status.textContent = status
      else if (u.state === 'uploading') this.status.textContent = `${bytes(u.offset)} of ${bytes(u.file.size)}`
      const active = u.state === 'uploading' || u.state === 'retrying' || u.state === 'queued'
      this.pauseButton.hidden = !active
      this.resumeButton.hidden = !(u.state === 'paused' || u.state === 'error')
      this.removeButton.hidden = !(u.state === 'paused' || u.state === 'error' || u.state === 'refused')
    }
  }

  /** Starts queued uploads while fewer than MAX_PARALLEL run. */
  const scheduler = {
    waiting: [],
    running: new Set(),
    add (upload) { this.waiting.push(upload); this.pump() },
    pump () {
      while (this.running.size < MAX_PARALLEL && this.waiting.length > 0) {
        const u = this.waiting.shift()
        this.running.add(u)
        u.run().finally(() => { this.running.delete(u); this.pump() })
      }
    }
  }

  /** Fingerprints of the uploads on this page that are not done: the same file twice would share one upload. */
  const unfinished = new Set()

  function addFiles (files) {
    const pipeline = $('pipeline').value
    for (const file of files) {
      const view = new UploadView(file)
      const upload = new TusUpload(file, pipeline, view)
      if (unfinished.has(upload.fingerprint())) {
        upload.set('error', 'this file is already being uploaded above')
        view.controls.remove()
        continue
      }
      view.removeButton.onclick = () => upload.remove()
      const refusal = limits.refusal(file, pending())
      if (refusal) {
        // Refused here, before a byte is sent, in the server's own words.
        upload.set('refused', 'refused: ' + refusal)
        continue
      }
      unfinished.add(upload.fingerprint())
      view.pauseButton.onclick = () => {
        const i = scheduler.waiting.indexOf(upload)
        if (i >= 0) {
          scheduler.waiting.splice(i, 1)
          upload.set('paused', 'paused before it started')
        } else {
          upload.pause()
        }
      }
      view.resumeButton.onclick = () => {
        upload.set('queued', 'waiting to resume')
        scheduler.add(upload)
      }
      scheduler.add(upload)
    }
  }

  /**
   * Bytes of this page's uploads not yet created on the server: they will count against the quota too. Created ones
   * already count there (their declared length), so they are left out: a stale figure may let a file through for
   * the server to refuse, but never refuses one the server would take.
   */
  function pending () {
    return [...scheduler.running, ...scheduler.waiting].reduce((n, u) => n + (u.url ? 0 : u.file.size), 0)
  }

  /**
   * The caller's limits (GET /api/v1/limits), to refuse a file before sending it. The messages are the server's
   * (FileSink, Usage, TypeDetector): the same words whether the browser or the server refuses.
   */
  const limits = {
    value: null,
    async load () {
      try {
        this.value = await getJson('/api/v1/limits')
      } catch (_) { this.value = null; return } // the server still checks everything
      const l = this.value
      const parts = ['up to ' + bytes(l.maxFileSize) + ' per file']
      if (l.key && l.key.remainingBytes != null) parts.push(bytes(l.key.remainingBytes) + ' of quota left')
      if (l.allowedTypes && l.allowedTypes.length > 0) parts.push('types: ' + l.allowedTypes.join(', '))
      $('limits').textContent = parts.join(' · ')
      $('limits').dataset.maxFileSize = String(l.maxFileSize)
    },
    /** The server's refusal message for this file, or null when it may be sent. */
    refusal (file, alreadyPending) {
      const l = this.value
      if (!l) return null
      if (file.size > l.maxFileSize) return `file_too_large: the file is larger than the limit of ${l.maxFileSize} bytes`
      const k = l.key
      if (k && k.quotaBytes != null && file.size + alreadyPending > k.remainingBytes) {
        return `quota_exceeded: this API key's quota of ${k.quotaBytes} bytes would be exceeded (${k.usedBytes} bytes in use)`
      }
      // The server detects the type from the bytes; the browser only guesses from the name. Refuse early only when
      // the guess's top-level type (image/, text/ ...) matches no allowed type at all, never on a finer guess.
      const types = l.allowedTypes || []
      if (types.length > 0 && file.type && file.type.includes('/')) {
        const top = file.type.split('/')[0]
        if (!types.some((t) => t.split('/')[0] === top || t === '*/*')) {
          return `type_not_allowed: files of type ${file.type} are not accepted`
        }
      }
      return null
    }
  }

  function setUpDropZone () {
    const zone = $('dropzone')
    const input = $('file-input')
    input.addEventListener('change', () => {
      addFiles([...input.files])
      input.value = '' // the same file may be chosen again
    })
    for (const type of ['dragenter', 'dragover']) {
      zone.addEventListener(type, (e) => { e.preventDefault(); zone.classList.add('over') })
    }
    zone.addEventListener('dragleave', () => zone.classList.remove('over'))
    zone.addEventListener('drop', (e) => {
      e.preventDefault()
      zone.classList.remove('over')
      if (e.dataTransfer && e.dataTransfer.files.length > 0) addFiles([...e.dataTransfer.files])
    })
    // A file dropped beside the zone must not make the browser navigate away from running uploads.
    window.addEventListener('dragover', (e) => e.preventDefault())
    window.addEventListener('drop', (e) => e.preventDefault())
  }

  async function loadPipelines () {
    const select = $('pipeline')
    try {
      const { pipelines } = await getJson('/api/v1/pipelines')
      for (const p of pipelines) {
        const o = el('option', null, p.name + (p.default ? ' (default)' : ''))
        o.value = p.name
        o.dataset.types = (p.types || []).join(', ')
        select.append(o)
      }
    } catch (e) {
      $('pipeline-types').textContent = 'pipelines unavailable: ' + e.message
    }
    select.addEventListener('change', () => {
      const o = select.selectedOptions[0]
      $('pipeline-types').textContent = o && o.value ? 'takes ' + (o.dataset.types || 'any type') : ''
    })
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Jobs: the view lives in jobs.js (filters, pages, counts, bulk actions); the event stream below feeds it.

  const jobsView = window.sluiceJobsView({ $, el, send, getJson, httpError, names, duration, apiKey })

  /** The server-sent event stream; EventSource cannot send headers, so the key goes in ?access_token=. */
  const events = {
    source: null,
    lastEventId: null,
    retryTimer: null,

    connect () {
      const params = new URLSearchParams()
      const key = apiKey()
      if (key) params.set('access_token', key)
      if (this.lastEventId) params.set('lastEventId', this.lastEventId)
      const query = params.toString()
      const source = this.source = new EventSource('/api/v1/events' + (query ? '?' + query : ''))
      source.onopen = () => this.badge('live', 'live')
      source.onerror = () => {
        if (source.readyState === EventSource.CLOSED) {
          // Not a dropped connection (EventSource retries those itself) but a refusal, such as a 401: find out
          // through fetch, which can see the status and ask for a key.
          this.badge('down', 'disconnected')
          clearTimeout(this.retryTimer)
          this.retryTimer = setTimeout(() => this.probeAndReconnect(), 3000)
        } else {
          this.badge('', 'reconnecting')
        }
      }
      const onEvent = (e) => {
        this.lastEventId = e.lastEventId || this.lastEventId
        let envelope
        try { envelope = JSON.parse(e.data) } catch (_) { return }
        const data = envelope.data || {}
        if (data.upload && data.upload.id) names.set(data.upload.id, data.upload.filename)
        if (data.job) jobsView.fromEvent(data.job)
      }
      for (const type of ['upload.completed', 'job.progress', 'job.succeeded', 'job.failed', 'job.cancelled']) {
        source.addEventListener(type, onEvent)
      }
    },

    async probeAndReconnect () {
      try {
        await send('/api/v1/jobs?limit=1') // a 401 here opens the key dialog, and reconnect() follows the key
      } catch (_) { /* server down: try again below */ }
      if (!keyWanted) this.reconnect()
    },

    reconnect () {
      if (this.source) this.source.close()
      this.connect()
      jobsView.refresh()
    },

    badge (cls, text) {
      const b = $('live')
      b.className = 'badge ' + cls
      b.textContent = text
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // The system panel, polled every POLL_MS.

  const system = {
    busy: false,
    async poll () {
      if (this.busy) return
      this.busy = true
      try {
        const [h, u] = await Promise.all([getJson('/health/detailed'), getJson('/api/v1/system/upload-status')])
        this.show(h, u)
        $('sys-error').hidden = true
      } catch (e) {
        $('sys-error').hidden = false
        $('sys-error').textContent = 'status unavailable: ' + e.message
      } finally {
        this.busy = false
      }
    },

    show (h, u) {
      const state = $('sys-state')
      state.textContent = h.state
      state.className = 'state-' + h.state
      const s = h.shedding || {}
      $('sys-shedding').textContent = (h.state === 'ACCEPTING' ? 'no' : 'yes, ' + s.lastReason) +
        ' · ' + s.refusedTotal + ' refused so far'
      const m = h.memory || {}
      $('sys-heap').textContent = `${bytes(m.heapUsed)} of ${bytes(m.heapMax)}`
      const usage = ((u || {}).memory_monitor || {}).current_usage || {}
      $('sys-memory').textContent = `${usage.percent} % used of ${usage.total_gb} GiB · RSS ${bytes(m.rss)}`
      const c = h.connections || {}
      $('sys-connections').textContent = `${c.open} open of ${c.limit}`
      const cm = (u || {}).concurrency_manager || {}
      const up = h.uploads || {}
      $('sys-uploads').textContent = `${cm.active_uploads} active · ${cm.global_upload_slots_available} of ` +
        `${up.slots} slots free`
      $('sys-queue').textContent = h.jobs ? `${h.jobs.queued} queued · ${h.jobs.running} running` : 'n/a'
      $('sys-disk').textContent = h.disk ? bytes(h.disk.free) : 'n/a'
      $('sys-hooks').textContent = hooks(h.hooks)
      $('sys-version').textContent = `${h.version} · up ${duration(h.uptimeSeconds)}`
      this.alerts(h.alerts)
      $('sys-updated').textContent = 'updated ' + new Date().toLocaleTimeString()
    },

    /**
     * Every alert rule, listed neutrally with its threshold; only a FIRING rule is coloured, with since when and the
     * value that fired it. PENDING (breached, not yet for long enough) and RESOLVED are said in words only.
     */
    alerts (alerts) {
      const list = $('sys-alerts')
      const rules = Array.isArray(alerts) ? alerts : []
      list.hidden = rules.length === 0
      list.replaceChildren(...rules.map((a) => {
        const li = el('li', 'alert-rule' + (a.state === 'FIRING' ? ' firing' : ''))
        li.dataset.rule = a.name
        li.dataset.state = a.state
        const limit = (a.comparison === 'below' ? 'below ' : 'above ') + measure(a.threshold, a.unit) +
          (a.forSeconds > 0 ? ' for ' + duration(a.forSeconds) : '')
        li.append(el('span', 'rule-name', a.name), el('span', 'rule-limit muted', 'alerts ' + limit))
        li.title = a.summary || ''
        if (a.state === 'FIRING') {
          li.append(el('span', 'rule-state', `firing since ${new Date(a.since).toLocaleString()}: ` +
            `${measure(a.value, a.unit)}`))
        } else if (a.state === 'PENDING') {
          li.append(el('span', 'rule-state muted', 'over the limit, waiting: ' + measure(a.value, a.unit)))
        } else if (a.state === 'RESOLVED') {
          li.append(el('span', 'rule-state muted', 'resolved ' + new Date(a.since).toLocaleTimeString()))
        }
        return li
      }))
    }
  }

  /** The upload hooks line: each configured hook's host and its calls by outcome (README "Upload hooks"). */
  function hooks (hk) {
    if (!hk) return 'none'
    const lines = ['preCreate', 'preFinish'].filter((k) => hk[k] && hk[k].host).map((k) => {
      const c = hk[k].calls
      return `${k} → ${hk[k].host}: ${c.allow} allowed · ${c.refuse} refused · ${c.error} failed · ${c.timeout} timed out`
    })
    return lines.join('; ') + ` (timeout ${hk.timeoutMs} ms${hk.failOpen ? ', fail open' : ''})`
  }

  /** A rule's value or threshold in its unit. */
  function measure (v, unit) {
    if (v == null) return 'n/a'
    if (unit === 'ratio') return (Math.round(v * 1000) / 10) + ' %'
    if (unit === 'bytes') return bytes(v)
    if (unit === 'seconds') return duration(v)
    return String(v)
  }

  // ---------------------------------------------------------------------------------------------------------------

  function start () {
    setUpDropZone()
    limits.load()
    $('clear-finished').onclick = () => {
      for (const li of [...$('uploads').children]) {
        if (li.dataset.state === 'done' || li.dataset.state === 'refused') li.remove()
      }
    }
    // For the views in their own files (files.js): the same key handling and formatting.
    window.sluice = { send, getJson, httpError, bytes, el, duration, refreshLimits: () => limits.load() }
    document.dispatchEvent(new CustomEvent('sluice:ready'))
    $('forget-key').hidden = !apiKey()
    $('forget-key').onclick = () => { sessionStorage.removeItem(KEY_STORE); location.reload() }
    loadPipelines()
    // Subscribed before the list is read, so that no change falls between the two.
    events.connect()
    jobsView.refresh()
    system.poll()
    setInterval(() => system.poll(), POLL_MS)
  }

  start()
})()
