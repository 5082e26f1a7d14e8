// Sluice dashboard: the jobs view. Filters (state, pipeline, created after / before), search (upload name, upload or
// job id), keyset pages, per-state counts, bulk retry / cancel, the job's detail with its whole output as a download.
// Live: events from app.js's stream update the rows shown. Loaded before app.js, which calls sluiceJobsView() with
// its helpers; plain browser JavaScript under the dashboard's CSP (no inline code: everything is wired here).
'use strict'

window.sluiceJobsView = function sluiceJobsView (api) {
  const { $, el, send, getJson, httpError, names, duration, apiKey } = api
  const PAGE_SIZE = 50
  const OUTPUT_PREVIEW_LINES = 20
  const SEARCH_DELAY_MS = 300
  const COUNTS_DELAY_MS = 1000
  const STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled']
  const FINISHED = new Set(['succeeded', 'failed', 'cancelled'])

  /** When a job was created: the time of day today, the date and time before. */
  function when (iso) {
    if (!iso) return ''
    const d = new Date(iso)
    return d.toDateString() === new Date().toDateString() ? d.toLocaleTimeString()
      : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
  }

  /** What the state column says: a running job whose cancel is pending is "cancelling" until it stops. */
  const shownState = (j) => (j.state === 'running' && j.cancelRequested ? 'cancelling' : j.state)

  /** "attempt 2 (of at most 3)": the number of the current or last attempt, and the ceiling, never "1 of 3". */
  function attemptText (j) {
    if (!j.attempt) return `not started (at most ${j.maxAttempts} attempts)`
    return `attempt ${j.attempt} (of at most ${j.maxAttempts})`
  }

  // The toolbar, counts, bulk bar and pager are built here, so index.html keeps only the table.
  function buildControls () {
    const panel = $('jobs-panel')
    const table = $('jobs')
    const bar = el('div', 'row jobs-filters')
    const state = el('select')
    state.id = 'jobs-filter-state'
    state.append(new Option('any state', ''), ...STATES.map((s) => new Option(s, s)))
    const pipeline = el('select')
    pipeline.id = 'jobs-filter-pipeline'
    pipeline.append(new Option('any pipeline', ''))
    const search = el('input')
    search.id = 'jobs-search'
    search.type = 'search'
    search.placeholder = 'file name, upload or job id'
    search.maxLength = 200
    const since = el('input')
    since.id = 'jobs-since'
    since.type = 'datetime-local'
    since.title = 'created at or after'
    const until = el('input')
    until.id = 'jobs-until'
    until.type = 'datetime-local'
    until.title = 'created before'
    bar.append(state, pipeline, search, el('label', 'muted', 'from'), since, el('label', 'muted', 'to'), until)

    const counts = el('div', 'row jobs-counts')
    counts.id = 'jobs-counts'

    const bulk = el('div', 'row jobs-bulk')
    const retry = el('button', null, 'Retry selected')
    retry.id = 'jobs-bulk-retry'
    retry.type = 'button'
    const cancel = el('button', null, 'Cancel selected')
    cancel.id = 'jobs-bulk-cancel'
    cancel.type = 'button'
    const status = el('span', 'muted')
    status.id = 'jobs-bulk-status'
    bulk.append(retry, cancel, status)

    const pager = el('div', 'row jobs-pager')
    const prev = el('button', null, '‹ Newer')
    prev.id = 'jobs-prev'
    prev.type = 'button'
    const page = el('span', 'muted')
    page.id = 'jobs-page'
    const next = el('button', null, 'Older ›')
    next.id = 'jobs-next'
    next.type = 'button'
    pager.append(prev, page, next)

    panel.insertBefore(bar, table)
    panel.insertBefore(counts, table)
    panel.insertBefore(bulk, table)
    table.after(pager)

    const head = table.tHead.rows[0]
    const all = el('input')
    all.type = 'checkbox'
    all.id = 'jobs-select-all'
    all.title = 'select every job on this page'
    const th = el('th')
    th.append(all)
    head.insertBefore(th, head.firstChild)
  }

  const view = {
    jobs: new Map(), // id -> job, of the page shown (and jobs followed or seen live on the first page)
    order: [], // ids of the page, newest first
    selected: null, // the job whose detail is open
    checked: new Set(),
    cancelling: new Set(), // cancel asked here: shown as cancelling until the job ends
    touched: new Map(), // id -> when (performance.now()) an event or an action last changed it here
    outputShown: null,
    lookups: new Set(),
    renderQueued: false,
    cursors: [null], // the cursor of each page so far: Newer goes back one
    nextCursor: null,
    filters: { state: '', pipeline: '', q: '', since: '', until: '' },
    countsTimer: null,
    loading: 0,

    init () {
      buildControls()
      const changed = () => { this.readFilters(); this.cursors = [null]; this.checked.clear(); this.refresh() }
      $('jobs-filter-state').onchange = changed
      $('jobs-filter-pipeline').onchange = changed
      $('jobs-since').onchange = changed
      $('jobs-until').onchange = changed
      let searchTimer = null
      $('jobs-search').oninput = () => { clearTimeout(searchTimer); searchTimer = setTimeout(changed, SEARCH_DELAY_MS) }
      $('jobs-next').onclick = () => { if (this.nextCursor) { this.cursors.push(this.nextCursor); this.checked.clear(); this.refresh() } }
      $('jobs-prev').onclick = () => { if (this.cursors.length > 1) { this.cursors.pop(); this.checked.clear(); this.refresh() } }
      $('jobs-select-all').onchange = (e) => {
        this.order.forEach((id) => (e.target.checked ? this.checked.add(id) : this.checked.delete(id)))
        this.render()
      }
      $('jobs-bulk-retry').onclick = () => this.bulk('retry')
      $('jobs-bulk-cancel').onclick = () => this.bulk('cancel')
      $('detail-close').onclick = () => { this.selected = null; $('job-detail').hidden = true; this.render() }
      $('detail-cancel').onclick = () => this.act('cancel')
      $('detail-retry').onclick = () => this.act('retry')
      this.loadPipelines()
      return this
    },

    async loadPipelines () {
      try {
        const { pipelines } = await getJson('/api/v1/pipelines')
        const select = $('jobs-filter-pipeline')
        for (const p of pipelines) select.append(new Option(p.name, p.name))
      } catch (_) { /* the filter still takes "any pipeline" */ }
    },

    readFilters () {
      const iso = (v) => (v ? new Date(v).toISOString() : '')
      this.filters = {
        state: $('jobs-filter-state').value,
        pipeline: $('jobs-filter-pipeline').value,
        q: $('jobs-search').value.trim(),
        since: iso($('jobs-since').value),
        until: iso($('jobs-until').value)
      }
    },

    query (withState) {
      const p = new URLSearchParams()
      for (const [k, v] of Object.entries(this.filters)) if (v && (withState || k !== 'state')) p.set(k, v)
      return p
    },

    /** The current page again (after a filter change, a page turn, a reconnect), and the counts. */
    async refresh () {
      const p = this.query(true)
      p.set('limit', PAGE_SIZE)
      const cursor = this.cursors[this.cursors.length - 1]
      if (cursor) p.set('cursor', cursor)
      const ticket = ++this.loading
      const started = performance.now()
      try {
        const { jobs, nextCursor } = await getJson('/api/v1/jobs?' + p)
        if (ticket !== this.loading) return // a newer request was sent meanwhile
        const kept = new Map()
        for (const j of jobs) {
          // An event (or a retry / cancel answer) that arrived after this list was asked for is newer than it.
          const known = this.jobs.get(j.id)
          kept.set(j.id, known && (this.touched.get(j.id) || 0) > started ? known : j)
        }
        if (this.selected && this.jobs.has(this.selected) && !kept.has(this.selected)) {
          kept.set(this.selected, this.jobs.get(this.selected))
        }
        this.jobs = kept
        this.order = jobs.map((j) => j.id)
        this.nextCursor = nextCursor
        for (const id of [...this.checked]) if (!kept.has(id)) this.checked.delete(id)
        for (const id of [...this.touched.keys()]) if (!kept.has(id)) this.touched.delete(id)
        $('jobs').dataset.loaded = p.toString() // what the rows shown answer (tests wait for it)
        $('jobs-error').hidden = true
        this.changed()
      } catch (e) {
        $('jobs-error').hidden = false
        $('jobs-error').textContent = 'jobs unavailable: ' + e.message
      }
      this.refreshCounts()
    },

    /** Counts per state under the same filters except the state itself: they are the state filter's choices. */
    async refreshCounts () {
      clearTimeout(this.countsTimer)
      this.countsTimer = null
      try {
        const { counts, total } = await getJson('/api/v1/jobs/counts?' + this.query(false))
        const box = $('jobs-counts')
        const chip = (state, label, n) => {
          const b = el('button', 'count' + (this.filters.state === state ? ' active' : ''))
          b.type = 'button'
          b.dataset.state = state
          b.append(el('span', state ? 'job-state ' + state : null, label), ' ', el('b', 'n', String(n)))
          b.onclick = () => { $('jobs-filter-state').value = state; $('jobs-filter-state').onchange() }
          return b
        }
        box.replaceChildren(chip('', 'all', total), ...STATES.map((s) => chip(s, s, counts[s] || 0)))
      } catch (_) { /* the list says what is wrong */ }
    },

    /** Events come often: counts follow at most once a second. */
    countsSoon () {
      if (!this.countsTimer) this.countsTimer = setTimeout(() => this.refreshCounts(), COUNTS_DELAY_MS)
    },

    /** Whether a job seen live belongs on the first page under the current filters. */
    matches (j) {
      const f = this.filters
      if (f.state && shownState(j) !== f.state && j.state !== f.state) return false
      if (f.pipeline && j.pipeline !== f.pipeline) return false
      if (f.since && j.createdAt < f.since) return false
      if (f.until && j.createdAt >= f.until) return false
      if (f.q) {
        const name = (names.get(j.uploadId) || '').toLowerCase()
        if (j.id !== f.q && j.uploadId !== f.q && !name.includes(f.q.toLowerCase())) return false
      }
      return true
    },

    /** An event is the newest word on a job: it always applies to a job shown; a new one joins the first page. */
    fromEvent (job) {
      if (FINISHED.has(job.state)) this.cancelling.delete(job.id)
      if (this.jobs.has(job.id) || (this.cursors.length === 1 && this.matches(job))) {
        this.touched.set(job.id, performance.now())
      }
      if (this.jobs.has(job.id)) {
        this.jobs.set(job.id, job)
      } else if (this.cursors.length === 1 && this.matches(job)) {
        this.jobs.set(job.id, job)
        this.order = [job.id, ...this.order.filter((id) => id !== job.id)].slice(0, PAGE_SIZE)
      }
      this.countsSoon()
      this.changed(job.id)
    },

    /** A job this page started: shown at once, whether or not its event arrived yet. */
    async follow (id) {
      const started = performance.now()
      try {
        const j = await getJson('/api/v1/jobs/' + encodeURIComponent(id))
        if ((this.touched.get(id) || 0) <= started) this.fromEvent(j)
      } catch (_) { /* the event stream brings it */ }
    },

    changed (id) {
      if (id && id === this.selected) this.showDetail(id)
      if (this.renderQueued) return
      this.renderQueued = true
      requestAnimationFrame(() => { this.renderQueued = false; this.render() })
    },

    /** The file name of an upload: asked once per upload, for the rows shown only. */
    lookUp (uploadId) {
      if (!uploadId || names.has(uploadId) || this.lookups.has(uploadId)) return
      this.lookups.add(uploadId)
      getJson('/api/v1/uploads/' + encodeURIComponent(uploadId))
        .then((u) => { names.set(uploadId, u.filename); this.changed() })
        .catch(() => {})
    },

    render () {
      const rows = this.order.map((id) => this.jobs.get(id)).filter(Boolean)
      $('jobs').tBodies[0].replaceChildren(...rows.map((j) => this.row(j)))
      $('jobs-empty').hidden = rows.length > 0
      $('jobs-empty').textContent = Object.values(this.filters).some(Boolean) ? 'No job matches.' : 'No jobs yet.'
      const page = this.cursors.length
      $('jobs-page').textContent = rows.length ? `page ${page} · ${rows.length} jobs` : ''
      $('jobs-prev').disabled = page === 1
      $('jobs-next').disabled = !this.nextCursor
      const n = this.checked.size
      $('jobs-bulk-retry').disabled = n === 0
      $('jobs-bulk-cancel').disabled = n === 0
      $('jobs-select-all').checked = n > 0 && rows.every((j) => this.checked.has(j.id))
    },

    row (j) {
      const tr = el('tr')
      tr.dataset.jobId = j.id
      tr.dataset.state = j.state
      const shown = this.cancelling.has(j.id) && j.state === 'running' ? 'cancelling' : shownState(j)
      tr.dataset.shown = shown
      if (j.id === this.selected) tr.classList.add('selected')
      const pick = el('td', 'select')
      const box = el('input')
      box.type = 'checkbox'
      box.checked = this.checked.has(j.id)
      box.title = 'select for Retry / Cancel selected'
      box.onclick = (e) => e.stopPropagation()
      box.onchange = () => { box.checked ? this.checked.add(j.id) : this.checked.delete(j.id); this.render() }
      pick.append(box)
      const id = el('td', 'id', j.id.length > 14 ? j.id.slice(0, 14) + '…' : j.id)
      id.title = j.id
      this.lookUp(j.uploadId)
      const file = el('td', 'file', names.get(j.uploadId) || j.uploadId || '')
      const state = el('td', 'state')
      state.append(el('span', 'job-state ' + shown, shown))
      state.title = attemptText(j)
      const progressCell = el('td', 'progress')
      const bar = el('progress')
      bar.max = 100
      bar.value = j.progress || 0
      progressCell.append(bar, ' ' + (j.progress || 0) + ' %')
      const eta = j.state === 'running' && j.etaSeconds != null ? duration(j.etaSeconds) : ''
      // A failed job keeps the stage it failed in: the row says so.
      const stage = el('td', 'stage', j.stage ? (j.state === 'failed' ? 'failed in ' + j.stage : j.stage) : '')
      tr.append(pick, id, file, el('td', 'pipeline', j.pipeline), state, stage, progressCell,
        el('td', 'eta', eta), el('td', 'created', when(j.createdAt)))
      tr.onclick = () => this.showDetail(j.id)
      return tr
    },

    showDetail (id) {
      const j = this.jobs.get(id)
      if (!j) return
      if (this.selected !== id) this.outputShown = null
      this.selected = id
      $('job-detail').hidden = false
      $('detail-id').textContent = j.id
      const shown = this.cancelling.has(j.id) && j.state === 'running' ? 'cancelling' : shownState(j)
      $('detail-state').replaceChildren(el('span', 'job-state ' + shown, shown))
      $('detail-file').textContent = (names.get(j.uploadId) || '') + ' (upload ' + j.uploadId + ')'
      $('detail-pipeline').textContent = j.pipeline
      $('detail-stage').textContent = j.stage ? (j.state === 'failed' ? 'failed in ' + j.stage : j.stage) : '—'
      $('detail-progress').textContent = (j.progress || 0) + ' %' +
        (j.state === 'running' && j.etaSeconds != null ? ', about ' + duration(j.etaSeconds) + ' left' : '')
      $('detail-attempt').textContent = attemptText(j)
      $('detail-created').textContent = j.createdAt ? new Date(j.createdAt).toLocaleString() : ''
      $('detail-started').textContent = j.startedAt ? new Date(j.startedAt).toLocaleString() : '—'
      $('detail-finished').textContent = j.finishedAt ? new Date(j.finishedAt).toLocaleString() : '—'
      $('detail-error-box').hidden = !j.error
      $('detail-error').textContent = j.error
        ? j.error.code + ': ' + j.error.message + (j.stage && j.state === 'failed' ? '\n(in stage ' + j.stage + ')' : '')
        : ''
      $('detail-result-box').hidden = j.result == null
      $('detail-result').textContent = j.result == null ? '' : JSON.stringify(j.result, null, 2)
      $('detail-cancel').hidden = FINISHED.has(j.state) || shown === 'cancelling'
      $('detail-retry').hidden = !(j.state === 'failed' || j.state === 'cancelled')
      if (j.state === 'succeeded' && this.outputShown !== id) {
        this.outputShown = id
        this.showOutput(j)
      } else if (j.state !== 'succeeded') {
        $('detail-output-box').hidden = true
      }
      this.render()
    },

    /** The first lines of a succeeded job's output, and a link to download all of it (NDJSON). */
    async showOutput (j) {
      const box = $('detail-output-box')
      const pre = $('detail-output')
      const url = j.outputUrl || '/api/v1/jobs/' + encodeURIComponent(j.id) + '/output'
      box.hidden = false
      let link = $('detail-download')
      if (!link) {
        link = el('a', 'download', 'Download the whole output (NDJSON)')
        link.id = 'detail-download'
        box.append(link)
        // A link cannot send the API key: with a key, the file is fetched with it and saved from memory.
        link.onclick = (e) => { if (apiKey()) { e.preventDefault(); this.download(link.href, link.download) } }
      }
      link.href = url
      link.download = 'job-' + j.id + '.ndjson'
      pre.textContent = 'loading…'
      try {
        const res = await send(url + '?limit=' + OUTPUT_PREVIEW_LINES)
        if (res.status === 404) {
          const e = await httpError(res)
          pre.textContent = e.code === 'no_output' ? '(no output)' : e.message
          link.hidden = true
          return
        }
        if (!res.ok) throw await httpError(res)
        const text = await res.text()
        pre.textContent = text.length > 0 ? text : '(this job wrote no output lines)'
        link.hidden = false
      } catch (e) {
        pre.textContent = 'output unavailable: ' + e.message
      }
    },

    async download (url, name) {
      try {
        const res = await send(url)
        if (!res.ok) throw await httpError(res)
        const href = URL.createObjectURL(await res.blob())
        const a = el('a')
        a.href = href
        a.download = name
        document.body.append(a)
        a.click()
        a.remove()
        setTimeout(() => URL.revokeObjectURL(href), 60000)
      } catch (e) {
        $('detail-output').textContent = 'download failed: ' + e.message
      }
    },

    async act (what) {
      if (!this.selected) return
      const id = this.selected
      try {
        const res = await send('/api/v1/jobs/' + encodeURIComponent(id) + '/' + what, { method: 'POST' })
        if (!res.ok) throw await httpError(res)
        const j = await res.json()
        if (what === 'cancel' && j.state === 'running') this.cancelling.add(id)
        this.fromEvent(j)
      } catch (e) {
        $('detail-error-box').hidden = false
        $('detail-error').textContent = what + ' refused: ' + e.message
      }
    },

    /** Retry or cancel every checked job in one request; each answers for itself. */
    async bulk (action) {
      const ids = [...this.checked]
      if (ids.length === 0) return
      const status = $('jobs-bulk-status')
      status.textContent = action + '…'
      try {
        const res = await send('/api/v1/jobs/bulk', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ action, ids })
        })
        if (!res.ok) throw await httpError(res)
        const out = await res.json()
        const refused = {}
        for (const r of out.results) {
          if (r.job) {
            if (action === 'cancel' && r.job.state === 'running') this.cancelling.add(r.id)
            this.fromEvent(r.job)
          } else {
            refused[r.error.code] = (refused[r.error.code] || 0) + 1
          }
        }
        this.checked.clear()
        const done = action === 'retry' ? 'retried' : 'cancelled'
        const why = Object.entries(refused).map(([code, n]) => n + ' ' + code).join(', ')
        status.textContent = `${out.succeeded} ${done}` + (out.failed ? `, ${out.failed} refused (${why})` : '')
        this.render()
        this.refreshCounts()
      } catch (e) {
        status.textContent = action + ' refused: ' + e.message
      }
    }
  }
  return view.init()
}
