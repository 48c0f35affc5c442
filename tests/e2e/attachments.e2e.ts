// File sharing in the browser (issue #12): Alice at desktop width, Bob at
// 375 px. Images by the file chooser and by paste arrive as thumbnails and
// open full size; a PDF arrives as a card and downloads; a file over the limit
// gets a readable error; the emoji picker writes into the composer. The tests
// run in order and share the conversation.
import { readFile } from 'node:fs/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DESKTOP,
  graphql,
  launchBrowser,
  newPage,
  PHONE,
  screenshot,
  type ServerProcess,
  signUpByApi,
  startServerProcess,
  uniqueName,
} from './harness.js';

const MAX_UPLOAD_BYTES = 2 * 1024 * 1024;
const DELIVERY_MS = 5_000;

let server: ServerProcess;
let browser: Browser;
let aliceContext: BrowserContext;
let bobContext: BrowserContext;
let alicePage: Page;
let bobPage: Page;
const errors: string[] = [];
const aliceName = uniqueName('alice');
const bobName = uniqueName('bob');

const log = (page: Page) => page.getByRole('log', { name: 'Messages' });
const list = (page: Page) => page.getByRole('navigation', { name: 'Conversations' });
const sendButton = (page: Page) => page.getByRole('button', { name: 'Send', exact: true });

/** 800x600 stored sideways with EXIF orientation 6: shown upright it is 600x800. */
const photo = () =>
  sharp({ create: { width: 800, height: 600, channels: 3, background: { r: 220, g: 120, b: 40 } } })
    .withMetadata({ orientation: 6 })
    .jpeg()
    .toBuffer();
const pdf = Buffer.from(
  '%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n',
);

async function attachByChooser(page: Page, file: { name: string; mimeType: string; buffer: Buffer }) {
  const [chooser] = await Promise.all([
    page.waitForEvent('filechooser'),
    page.getByRole('button', { name: 'Attach files' }).click(),
  ]);
  await chooser.setFiles(file);
}

/** Pastes an image into the composer, as a screenshot tool's clipboard would hold it. */
async function pasteImage(page: Page, bytes: Buffer, name: string, type: string) {
  await page.getByRole('textbox', { name: 'Message' }).evaluate(
    (element, { base64, name, type }) => {
      const binary = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const data = new DataTransfer();
      data.items.add(new File([binary], name, { type }));
      element.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    },
    { base64: bytes.toString('base64'), name, type },
  );
}

/** Waits for the upload to finish (Send becomes enabled) and sends. */
async function sendWhenUploaded(page: Page) {
  await expect.poll(() => sendButton(page).isEnabled(), { timeout: 20_000 }).toBe(true);
  await sendButton(page).click();
}

/** The loaded image's natural size, once it has loaded. */
async function loadedSize(image: ReturnType<Page['locator']>): Promise<[number, number]> {
  await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
  return image.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight] as [number, number]);
}

beforeAll(async () => {
  server = await startServerProcess({ MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES) });
  browser = await launchBrowser();
  const alice = await signUpByApi(server.graphqlUrl, aliceName);
  const bob = await signUpByApi(server.graphqlUrl, bobName);
  const { openDirectConversation } = await graphql(
    server.graphqlUrl,
    'mutation ($userId: ID!) { openDirectConversation(userId: $userId) { id } }',
    { userId: bob.id },
    alice.token,
  );
  aliceContext = await browser.newContext({ viewport: DESKTOP, acceptDownloads: true });
  bobContext = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true, acceptDownloads: true });
  await aliceContext.addInitScript((token) => localStorage.setItem('chat.token', token), alice.token);
  await bobContext.addInitScript((token) => localStorage.setItem('chat.token', token), bob.token);
  alicePage = await newPage(aliceContext, errors);
  bobPage = await newPage(bobContext, errors);
  const href = `${server.url}/#/c/${encodeURIComponent(openDirectConversation.id)}`;
  await alicePage.goto(href);
  await bobPage.goto(href);
  await alicePage.getByRole('textbox', { name: 'Message' }).waitFor();
  await bobPage.getByRole('textbox', { name: 'Message' }).waitFor();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('file sharing in the browser', () => {
  it('an image attached by the file chooser arrives as a thumbnail with its aspect ratio reserved, and opens full size', async () => {
    await attachByChooser(alicePage, { name: 'photo.jpg', mimeType: 'image/jpeg', buffer: await photo() });
    await alicePage.getByRole('list', { name: 'Files to send' }).getByText('photo.jpg').waitFor();
    await sendWhenUploaded(alicePage);
    await expect.poll(() => alicePage.getByRole('list', { name: 'Files to send' }).count()).toBe(0);

    const open = log(bobPage).getByRole('button', { name: 'Open photo.jpg' });
    await open.waitFor({ timeout: DELIVERY_MS });
    const thumbnail = open.locator('img');
    // Reserved before loading: the element carries the real (rotated) size.
    expect(await thumbnail.getAttribute('width')).toBe('600');
    expect(await thumbnail.getAttribute('height')).toBe('800');
    const [width, height] = await loadedSize(thumbnail);
    expect(Math.max(width, height)).toBe(512);
    expect(width / height).toBeCloseTo(600 / 800, 2);
    const box = (await thumbnail.boundingBox())!;
    expect(box.width / box.height).toBeCloseTo(600 / 800, 1);
    expect(box.width).toBeLessThanOrEqual(PHONE.width);
    await screenshot(bobPage, 'attachments-thumbnail-phone');

    await open.click();
    const dialog = bobPage.getByRole('dialog', { name: 'photo.jpg' });
    await dialog.waitFor();
    expect(await loadedSize(dialog.locator('img'))).toEqual([600, 800]);
    await screenshot(bobPage, 'attachments-dialog-phone');
    await dialog.getByRole('button', { name: 'Close' }).click();
    await dialog.waitFor({ state: 'hidden' });
  });

  it('an image pasted into the composer arrives on the other side', async () => {
    const pasted = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#3366cc' } })
      .png()
      .toBuffer();
    await pasteImage(alicePage, pasted, 'pasted.png', 'image/png');
    await alicePage.getByRole('list', { name: 'Files to send' }).getByText('pasted.png').waitFor();
    await alicePage.getByRole('textbox', { name: 'Message' }).fill('from the clipboard');
    await sendWhenUploaded(alicePage);
    const message = log(bobPage).locator('.message').filter({ hasText: 'from the clipboard' });
    await message.waitFor({ timeout: DELIVERY_MS });
    expect(await loadedSize(message.getByRole('button', { name: 'Open pasted.png' }).locator('img'))).toEqual([
      300, 200,
    ]);
  });

  it('a PDF sent from the phone arrives as a card with name and size, and downloads', async () => {
    await attachByChooser(bobPage, { name: 'report.pdf', mimeType: 'application/pdf', buffer: pdf });
    await sendWhenUploaded(bobPage);
    const card = log(alicePage).getByRole('link', { name: /report\.pdf/ });
    await card.waitFor({ timeout: DELIVERY_MS });
    await expect.poll(() => card.innerText()).toContain(`${pdf.length} B`);
    const [download] = await Promise.all([alicePage.waitForEvent('download'), card.click()]);
    expect(download.suggestedFilename()).toBe('report.pdf');
    expect(await readFile((await download.path())!)).toEqual(pdf);
    // The list names the file of a message without a body.
    await list(alicePage).getByText('📎 report.pdf').waitFor();
    await screenshot(alicePage, 'attachments-desktop');
  });

  it('a file over the limit gets a readable error and can be removed; the emoji picker writes into the composer', async () => {
    await attachByChooser(alicePage, {
      name: 'huge.bin',
      mimeType: 'application/octet-stream',
      buffer: Buffer.alloc(MAX_UPLOAD_BYTES + 1024, 1),
    });
    const error = alicePage.getByRole('list', { name: 'Files to send' }).getByRole('alert');
    await error.waitFor({ timeout: 20_000 });
    expect(await error.innerText()).toBe('huge.bin is too large (the limit is 2 MB).');
    await alicePage.getByRole('button', { name: 'Remove huge.bin' }).click();
    await expect.poll(() => alicePage.getByRole('list', { name: 'Files to send' }).count()).toBe(0);

    await bobPage.getByRole('button', { name: 'Emoji' }).click();
    const picker = bobPage.getByRole('dialog', { name: 'Emoji picker' });
    const first = picker.getByRole('gridcell', { name: 'Grinning face', exact: true });
    await first.waitFor();
    await screenshot(bobPage, 'attachments-emoji-phone');
    const emoji = await first.innerText();
    await first.click();
    expect(await bobPage.getByRole('textbox', { name: 'Message' }).inputValue()).toContain(emoji.trim());
    expect(errors).toEqual([]);
  });
});
