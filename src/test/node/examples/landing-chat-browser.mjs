// The landing page's chat in Chromium (playwright-core, /usr/bin/chromium): send a message with two files through
// the page's form and read the webhook's reply the page shows; then six files and an 11 MB file, which the page
// refuses before sending (Sluice refuses them too: LandingChatRelayExampleTest checks that over HTTP).
// Driven by LandingChatRelayExampleTest:
//
//   node examples/landing-chat-browser.mjs http://127.0.0.1:8080 a.jpg b.pdf big.mp4
//
// Prints JSON lines: {"event":"reply",text}, {"event":"six",text}, {"event":"big",text}, {"event":"done",problems};
// {"event":"error",message} and exit 1 on failure.

import { chromium } from 'playwright-core'

function emit(event, fields = {}) {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`)
}

const [base, a, b, big] = process.argv.slice(2)
const problems = []
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu'],
})

/** Sends the form and returns the text of the newest log entry once it is no longer the placeholder. */
async function send(page, message, files) {
  const count = await page.locator('#log li').count()
  await page.fill('#message', message)
  await page.setInputFiles('#files', files)
  await page.click('button[type=submit]')
  await page.waitForFunction((n) => {
    const items = document.querySelectorAll('#log li')
    return items.length > n && items[items.length - 1].textContent !== '…'
  }, count, { timeout: 60_000 })
  return page.evaluate(() => {
    const items = document.querySelectorAll('#log li')
    const last = items[items.length - 1]
    return { text: last.textContent, kind: last.className }
  })
}

try {
  const page = await browser.newPage()
  page.on('console', (m) => {
    if (m.type() !== 'error') return
    const url = m.location().url ?? ''
    problems.push(`console: ${m.text()} @ ${url}`)
  })
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`))
  await page.goto(base + '/')

  emit('reply', await send(page, 'Where is order 1042?', [a, b]))
  emit('six', await send(page, 'six files', [a, b, a, b, a, b].map((f, i) => ({
    name: `photo-${i + 1}.jpg`, mimeType: 'image/jpeg', buffer: Buffer.from(`photo ${i + 1}`),
  }))))
  emit('big', await send(page, 'a big video', [big]))
  emit('done', { problems })
  await browser.close()
  process.exit(0)
} catch (e) {
  emit('error', { message: String(e && e.stack || e), problems })
  await browser.close()
  process.exit(1)
}
