// The assistant in the browser (issue #14): a person asks it in a DIRECT
// conversation and watches the answer think, grow and finish; then stops a
// long one with the Stop button. The model is the fake OpenAI-compatible
// server on loopback, the app the real server process.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeModelServer, startFakeModelServer } from '../helpers/fakeModelServer.js';
import {
  DESKTOP,
  launchBrowser,
  newPage,
  screenshot,
  type ServerProcess,
  signUpInBrowser,
  startServerProcess,
  uniqueName,
} from './harness.js';

/** The answer's first words and its end arrive within this time. */
const ANSWER_MS = 15_000;

let model: FakeModelServer;
let server: ServerProcess;
let browser: Browser;
let page: Page;
const errors: string[] = [];

const log = () => page.getByRole('log', { name: 'Messages' });
const composer = () => page.getByRole('textbox', { name: 'Message' });
/** The assistant's newest answer. */
const answer = () => log().locator('.message[data-generation]').last();

beforeAll(async () => {
  model = await startFakeModelServer();
  server = await startServerProcess({ AI_BASE_URL: model.baseUrl, AI_MODEL: 'fake-model' });
  browser = await launchBrowser();
  page = await newPage(await browser.newContext({ viewport: DESKTOP }), errors);
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await model?.close();
  expect(errors).toEqual([]); // no script error on the page
});

describe('the assistant in the browser', () => {
  it('answers in a DIRECT conversation: thinking first, then the text grows, then it is done', async () => {
    await signUpInBrowser(page, server.url, uniqueName('alice'));
    await page.getByRole('button', { name: 'New conversation' }).click();
    await page.getByLabel('Search users').fill('assistant');
    await page.getByRole('button', { name: 'Message Assistant (@assistant)' }).click();

    const poem = ['Roses ', 'are ', 'red, ', 'violets ', 'are ', 'blue; ', 'this ', 'answer ', 'grew ', 'for ', 'you.'];
    model.next({ chunks: poem, firstDelayMs: 1_500, delayMs: 250 });
    await composer().fill('Write me a short poem');
    await composer().press('Enter');

    await answer().getByRole('status').filter({ hasText: 'Thinking' }).waitFor({ timeout: ANSWER_MS });
    await answer().getByRole('button', { name: 'Stop' }).waitFor();
    await screenshot(page, 'assistant-thinking');

    // Watch the body as it streams: several lengths on the way to the whole poem.
    const seen = new Set<string>();
    const whole = poem.join('').trim();
    await expect
      .poll(
        async () => {
          const text = (await answer().locator('.message-body').textContent()) ?? '';
          if (!text.startsWith('Thinking')) seen.add(text);
          return (await answer().getAttribute('data-generation')) === 'DONE' && text === whole;
        },
        { timeout: ANSWER_MS, interval: 50 },
      )
      .toBe(true);
    const partial = [...seen].filter((text) => text && text !== whole);
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.every((text) => whole.startsWith(text.trim()))).toBe(true);
    await expect(answer().getByRole('button', { name: 'Stop' }).count()).resolves.toBe(0);
    await screenshot(page, 'assistant-done');
  });

  it('Stop ends a long answer: the text so far stays, marked stopped, and the model request is aborted', async () => {
    model.next({ chunks: ['Once ', 'upon ', 'a ', 'time'], delayMs: 100, end: 'hang' });
    const before = model.requests.length;
    await composer().fill('Tell me a very long story');
    await composer().press('Enter');
    await answer().locator('.message-body').filter({ hasText: 'Once upon a time' }).waitFor({ timeout: ANSWER_MS });
    await screenshot(page, 'assistant-generating');
    await answer().getByRole('button', { name: 'Stop' }).click();

    await answer().getByText('· stopped').waitFor({ timeout: ANSWER_MS });
    await expect(answer().getAttribute('data-generation')).resolves.toBe('STOPPED');
    await expect(answer().locator('.message-body').textContent()).resolves.toBe('Once upon a time');
    await expect(answer().getByRole('button', { name: 'Stop' }).count()).resolves.toBe(0);
    await expect.poll(() => model.requests[before]?.aborted, { timeout: ANSWER_MS }).toBe(true);
    await screenshot(page, 'assistant-stopped');
  });
});
