// @ts-check
// The HTTP-only floor: what the portal itself allows. The requests a browser tool makes for the job, with undici
// and no browser: the login and licence forms, the inventory pages (walked lazily, a page when its rows run
// out), each vehicle's detail page (the PDF link read from the server's HTML), its PDF; CONCURRENCY vehicles at
// once. No retries, no checkpoint, no atomic write.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { peerArgs, runPeer } from './peer-args.mjs';
import { agent, get, httpLogin, inventory, pool } from './portal-http.mjs';

const { baseUrl, concurrency, out } = await peerArgs('floor');

await runPeer('floor', async () => {
  const dispatcher = agent(concurrency * 2);
  const cookie = await httpLogin(dispatcher, baseUrl);
  const items = await pool(inventory(dispatcher, baseUrl, cookie), concurrency, async (url) => {
    const detail = await get(dispatcher, url, cookie);
    const href = /id="download-sticker"[^>]*href="([^"]+)"/.exec(detail.body.toString())?.[1];
    if (detail.status !== 200 || !href) throw new Error(`${url} answered ${detail.status}`);
    const pdf = await get(dispatcher, new URL(href, url).href, cookie);
    if (pdf.status !== 200) throw new Error(`${href} answered ${pdf.status}`);
    await writeFile(path.join(out, `${path.basename(url)}.pdf`), pdf.body);
  });
  await dispatcher.close();
  return items;
});
