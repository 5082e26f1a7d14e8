// Sluice dashboard, Files view: stored uploads (GET /api/v1/uploads: search, type filter, sort, keyset pages),
// download, delete with confirmation, copy of the id and download URL; and, apart, the caller's unfinished
// resumable uploads (GET /api/v1/resumable) with their offset and expiry, removable through tus DELETE.
// Uses app.js's helpers (window.sluice): the same API key handling and formatting.
'use strict'

;(() => {
  const { send, getJson, httpError, bytes, el } = window.sluice
  const PAGE = 50
  const TYPES = ['', 'image/*', 'text/*', 'application/*', 'video/*', 'audio/*', 'application/pdf', 'text/csv',
    'application/json']
  const SORTS = [['-created', 'Newest first'], ['created', 'Oldest first'], ['name', 'Name A–Z'],
    ['-name', 'Name Z–A'], ['-size', 'Largest first'], ['size', 'Smallest first']]

  const panel = document.getElementById('files-panel')
  const h = (tag, attrs = {}, ...children) => {
    const e = el(tag)
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'text') e.textContent = v
      else e.setAttribute(k, v)
    }
    e.append(...children)
    return e
  }

  const search = h('input', { id: 'files-q', type: 'search', placeholder: 'Search by name', 'aria-label': 'Search by name' })
  const type = h('select', { id: 'files-type', 'aria-label': 'Type' },
    ...TYPES.map((t) => { const o = h('option', { text: t || 'All types' }); o.value = t; return o }))
  const sort = h('select', { id: 'files-sort', 'aria-label': 'Sort' },
    ...SORTS.map(([v, label]) => { const o = h('option', { text: label }); o.value = v; return o }))
  const prev = h('button', { id: 'files-prev', type: 'button', text: '‹ Previous' })
  const next = h('button', { id: 'files-next', type: 'button', text: 'Next ›' })
  const pageLabel = h('span', { id: 'files-page', class: 'muted' })
  const status = h('span', { id: 'files-status', class: 'muted', role: 'status' })
  const ownerHead = h('th', { text: 'Owner' })
  const table = h('table', { id: 'files' },
    h('thead', {}, h('tr', {}, h('th', { text: 'Name' }), h('th', { text: 'Size' }), h('th', { text: 'Type' }),
      h('th', { text: 'SHA-256' }), h('th', { text: 'Uploaded' }), ownerHead, h('th', { text: 'Job' }),
      h('th', { text: '' }))),
    h('tbody'))
  const empty = h('p', { id: 'files-empty', class: 'muted', text: 'No files.' })
  const error = h('p', { id: 'files-error', class: 'error' })
  error.hidden = true
  const partialTable = h('table', { id: 'partials' },
    h('thead', {}, h('tr', {}, h('th', { text: 'Name' }), h('th', { text: 'Received' }), h('th', { text: 'Expires' }),
      h('th', { text: 'Started' }), h('th', { text: '' }))),
    h('tbody'))
  const partialBox = h('div', { id: 'partials-box' },
    h('h3', { text: 'Unfinished resumable uploads' }), partialTable, h('h3', { text: 'Stored' }))
  partialBox.hidden = true
  const confirmText = h('p', { id: 'files-confirm-text' })
  const confirmYes = h('button', { id: 'files-confirm-yes', type: 'button', text: 'Delete' })
  const confirmNo = h('button', { id: 'files-confirm-no', type: 'button', text: 'Keep' })
  const confirm = h('dialog', { id: 'files-confirm' }, confirmText, h('div', { class: 'row' }, confirmYes, confirmNo))

  panel.append(h('h2', {}, 'Files ', status),
    h('div', { class: 'row' }, search, type, sort, h('span', { class: 'spacer' }), prev, pageLabel, next),
    partialBox, table, empty, error, confirm)

  /** Asks before an irreversible step; resolves true when confirmed. */
  function ask (text) {
    confirmText.textContent = text
    confirm.showModal()
    return new Promise((resolve) => {
      confirmYes.onclick = () => { confirm.close(); resolve(true) }
      confirmNo.onclick = () => { confirm.close(); resolve(false) }
      confirm.oncancel = () => resolve(false)
    })
  }

  function say (text) { status.textContent = text }

  async function copy (text, what) {
    try {
      await navigator.clipboard.writeText(text)
      say('copied ' + what)
    } catch (_) {
      say(what + ': ' + text) // no clipboard (plain http on another host): show it to copy by hand
    }
    status.dataset.copied = text
  }

  const ownerNames = new Map()
  let ownersLoaded = false
  async function loadOwners () {
    if (ownersLoaded) return
    ownersLoaded = true
    try {
      const { keys } = await getJson('/api/v1/keys')
      for (const k of keys || []) ownerNames.set(k.id, k.name)
    } catch (_) { /* not an admin of keys: ids are shown */ }
  }

  /** The keyset position: cursors of the pages before this one, and this page's own. */
  const view = { cursors: [null], nextCursor: null, loading: 0 }

  async function load () {
    const ticket = ++view.loading
    const params = new URLSearchParams({ limit: String(PAGE), sort: sort.value })
    if (search.value.trim()) params.set('q', search.value.trim())
    if (type.value) params.set('type', type.value)
    const cursor = view.cursors[view.cursors.length - 1]
    if (cursor) params.set('cursor', cursor)
    try {
      const page = await getJson('/api/v1/uploads?' + params)
      if (ticket !== view.loading) return // a newer search answered first
      const showOwner = page.uploads.some((u) => u.owner)
      if (showOwner) await loadOwners()
      ownerHead.hidden = !showOwner
      table.tBodies[0].replaceChildren(...page.uploads.map((u) => row(u, showOwner)))
      view.nextCursor = page.nextCursor
      empty.hidden = page.uploads.length > 0
      prev.disabled = view.cursors.length <= 1
      next.disabled = !page.nextCursor
      pageLabel.textContent = 'page ' + view.cursors.length
      error.hidden = true
    } catch (e) {
      error.hidden = false
      error.textContent = 'files unavailable: ' + e.message
    }
  }

  function contentUrl (u) { return new URL('/api/v1/uploads/' + encodeURIComponent(u.id) + '/content', location.href).href }

  function row (u, showOwner) {
    const tr = el('tr')
    tr.dataset.uploadId = u.id
    const name = el('td', 'name', u.filename)
    name.title = u.filename + '\n' + u.id
    const sha = el('td', 'sha', u.sha256.slice(0, 12) + '…')
    sha.title = u.sha256
    const job = el('td', 'job')
    if (u.job) {
      job.append(el('span', 'job-state ' + u.job.state, u.job.state))
      job.title = 'job ' + u.job.id
    } else {
      job.textContent = '—'
      job.classList.add('muted')
    }
    const owner = el('td', 'owner', u.owner ? (ownerNames.get(u.owner) || u.owner) : '')
    owner.hidden = !showOwner
    const actions = el('td', 'actions')
    const download = el('button', 'download', 'Download')
    download.onclick = () => downloadFile(u)
    const copyId = el('button', 'copy-id', 'Copy id')
    copyId.onclick = () => copy(u.id, 'id')
    const copyUrl = el('button', 'copy-url', 'Copy URL')
    copyUrl.onclick = () => copy(contentUrl(u), 'download URL')
    const del = el('button', 'delete', 'Delete')
    del.onclick = () => remove(u)
    actions.append(download, copyId, copyUrl, del)
    tr.append(name, el('td', 'num', bytes(u.size)), el('td', 'type', u.contentType), sha,
      el('td', 'when', new Date(u.createdAt).toLocaleString()), owner, job, actions)
    return tr
  }

  /** A link when no key is needed; with a key, through fetch (a link cannot send the Authorization header). */
  async function downloadFile (u) {
    const a = el('a')
    a.download = u.filename
    if (!sessionStorage.getItem('sluice.apiKey')) {
      a.href = contentUrl(u)
      a.click()
      return
    }
    try {
      const res = await send(contentUrl(u))
      if (!res.ok) throw await httpError(res)
      a.href = URL.createObjectURL(await res.blob())
      a.click()
      setTimeout(() => URL.revokeObjectURL(a.href), 60000)
    } catch (e) {
      say('download failed: ' + e.message)
    }
  }

  async function remove (u) {
    if (!await ask(`Delete ${u.filename} (${bytes(u.size)})? Its bytes are removed for good.`)) return
    try {
      const res = await send('/api/v1/uploads/' + encodeURIComponent(u.id), { method: 'DELETE' })
      if (!res.ok && res.status !== 404) throw await httpError(res)
      say('deleted ' + u.filename)
      window.sluice.refreshLimits()
      await load()
    } catch (e) {
      say('delete refused: ' + e.message)
    }
  }

  async function loadPartials () {
    try {
      const { uploads } = await getJson('/api/v1/resumable?limit=100')
      partialBox.hidden = uploads.length === 0
      partialTable.tBodies[0].replaceChildren(...uploads.map((p) => {
        const tr = el('tr')
        tr.dataset.uploadId = p.id
        const received = p.length != null
          ? `${bytes(p.offset)} of ${bytes(p.length)} (${p.length > 0 ? Math.floor(100 * p.offset / p.length) : 0} %)`
          : bytes(p.offset) + ' (length not yet known)'
        const removeButton = el('button', 'remove', 'Remove')
        removeButton.onclick = async () => {
          if (!await ask(`Remove the unfinished upload ${p.filename}? It cannot be resumed afterwards.`)) return
          try {
            const res = await send(p.url, { method: 'DELETE', headers: { 'Tus-Resumable': '1.0.0' } })
            if (!res.ok && res.status !== 404 && res.status !== 410) throw await httpError(res)
            say('removed ' + p.filename)
            window.sluice.refreshLimits()
          } catch (e) {
            say('remove refused: ' + e.message)
          }
          loadPartials()
        }
        const actions = el('td', 'actions')
        actions.append(removeButton)
        tr.append(el('td', 'name', p.filename), el('td', 'offset', received),
          el('td', 'expires', p.expiresAt ? new Date(p.expiresAt).toLocaleString() : '—'),
          el('td', 'when', new Date(p.createdAt).toLocaleString()), actions)
        return tr
      }))
    } catch (_) {
      partialBox.hidden = true
    }
  }

  /** A new query starts at the first page. */
  function restart () { view.cursors = [null]; load() }

  let typing = null
  search.addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(restart, 250) })
  type.addEventListener('change', restart)
  sort.addEventListener('change', restart)
  next.onclick = () => { if (view.nextCursor) { view.cursors.push(view.nextCursor); load() } }
  prev.onclick = () => { if (view.cursors.length > 1) { view.cursors.pop(); load() } }
  // A finished upload appears at once on the first page of the newest-first order.
  let refreshing = null
  document.addEventListener('sluice:uploaded', () => {
    clearTimeout(refreshing)
    refreshing = setTimeout(() => {
      if (view.cursors.length === 1) load()
      loadPartials()
      window.sluice.refreshLimits() // the quota left shrank
    }, 300)
  })
  load()
  loadPartials()
  setInterval(loadPartials, 15000)
})()
