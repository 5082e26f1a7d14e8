// The landing page's chat: a message plus up to 5 files, sent as multipart/form-data to Sluice's relay route
// POST /relay/chat, which passes it to the webhook (primary, else fallback) and passes its JSON answer back.
// The limits are checked here for a quick message and again by Sluice, which is the authority.

const MAX_FILES = 5;
const MAX_FILE_SIZE = 10 * 1024 * 1024;

const log = document.getElementById('log');

function add(kind, text) {
  const li = document.createElement('li');
  li.className = kind;
  li.textContent = text;
  log.append(li);
  return li;
}

/** What a refusal from Sluice or the webhook says, in a sentence. */
function describe(status, body) {
  const e = body && body.error;
  if (!e) return `The chat is unavailable (HTTP ${status}). Please try again.`;
  switch (e.code) {
    case 'too_many_files': return `At most ${e.limit} files per message.`;
    case 'file_too_large': return `A file is larger than ${Math.round(e.limit / 1048576)} MB.`;
    case 'relay_busy': return 'Many people are chatting right now; please try again in a few seconds.';
    case 'relay_failed': return 'Our assistant cannot be reached right now; please try again later.';
    default: return e.message || `Error ${status}`;
  }
}

document.getElementById('chat').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const message = document.getElementById('message').value.trim();
  const files = [...document.getElementById('files').files];
  if (!message) return;
  if (files.length > MAX_FILES) return add('error', `At most ${MAX_FILES} files per message.`);
  const big = files.find((f) => f.size > MAX_FILE_SIZE);
  if (big) return add('error', `${big.name} is larger than 10 MB.`);

  add('me', files.length ? `${message} (${files.map((f) => f.name).join(', ')})` : message);
  const form = new FormData();
  form.append('message', message);
  for (const f of files) form.append('files', f, f.name);
  const pending = add('bot', '…');
  try {
    const res = await fetch('/relay/chat', { method: 'POST', body: form, headers: { Accept: 'application/json' } });
    const body = await res.json().catch(() => null);
    if (!res.ok) {
      pending.className = 'error';
      pending.textContent = describe(res.status, body);
    } else {
      pending.textContent = body && body.reply ? body.reply : JSON.stringify(body);
    }
  } catch (err) {
    pending.className = 'error';
    pending.textContent = `Network error: ${err.message}`;
  }
  ev.target.reset();
});
