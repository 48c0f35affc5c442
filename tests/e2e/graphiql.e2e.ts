// GraphiQL at /graphql with every request outside this machine refused: it
// must come entirely from the server, run a query with the token typed into
// its headers editor, and run a subscription over the WebSocket with it.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DESKTOP,
  graphql,
  launchBrowser,
  newPage,
  screenshot,
  sendByApi,
  type ServerProcess,
  signUpByApi,
  startServerProcess,
  uniqueName,
} from './harness.js';

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost']);
/** GraphiQL's page is 9 MB of inlined code: parsing it takes a while on a busy machine. */
const LOAD_MS = 30_000;

let server: ServerProcess;
let browser: Browser;
let page: Page;
const errors: string[] = [];
/** Every request that tried to leave the machine. */
const blocked: string[] = [];

/** Replaces the text of a Monaco editor as a paste would (typing would add closing brackets). */
async function setEditorText(editor: ReturnType<Page['locator']>, text: string): Promise<void> {
  await editor.locator('textarea').first().focus();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(text);
}

const operationEditor = () => page.getByRole('region', { name: 'Operation Editor' });
const result = () => page.getByRole('region', { name: 'Result Window' });

beforeAll(async () => {
  server = await startServerProcess();
  browser = await launchBrowser();
  const context = await browser.newContext({ viewport: DESKTOP });
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (LOCAL_HOSTS.has(url.hostname)) return route.continue();
    blocked.push(url.href);
    return route.abort('blockedbyclient');
  });
  page = await newPage(context, errors);
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('GraphiQL without internet access', () => {
  it('loads from the server alone, and runs a query and a subscription with the token from its headers editor', async () => {
    const alice = uniqueName('alice');
    const bob = uniqueName('bob');
    const aliceAuth = await signUpByApi(server.graphqlUrl, alice);
    const bobAuth = await signUpByApi(server.graphqlUrl, bob);
    const { openDirectConversation } = await graphql<{ openDirectConversation: { id: string } }>(
      server.graphqlUrl,
      'mutation ($userId: ID!) { openDirectConversation(userId: $userId) { id } }',
      { userId: bobAuth.id },
      aliceAuth.token,
    );
    const conversationId = openDirectConversation.id;

    await page.goto(server.graphqlUrl);
    const loaded = await operationEditor()
      .locator('.monaco-editor')
      .waitFor({ timeout: LOAD_MS })
      .then(
        () => true,
        () => false,
      );
    // What it tried to fetch from elsewhere says more than "it did not load".
    expect(blocked).toEqual([]);
    expect(loaded).toBe(true);

    // The token goes into the headers editor, as a person would paste it.
    await page.getByRole('button', { name: 'Headers' }).click();
    const headersEditor = page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden)');
    await setEditorText(headersEditor, JSON.stringify({ Authorization: `Bearer ${aliceAuth.token}` }));

    // A query over HTTP.
    await setEditorText(operationEditor(), '{ me { username } }');
    await page.getByRole('button', { name: /^Execute query/ }).click();
    await result().getByText(alice).waitFor();

    // A subscription over the WebSocket: the event log from before a message
    // was sent replays it, then a message sent after it is shown arrives live.
    const { conversations } = await graphql<{ conversations: { eventCursor: string } }>(
      server.graphqlUrl,
      '{ conversations(first: 1) { eventCursor } }',
      {},
      aliceAuth.token,
    );
    await sendByApi(server.graphqlUrl, bobAuth.token, conversationId, 'replayed-message');
    await setEditorText(
      operationEditor(),
      `subscription { messageEvents(after: ${JSON.stringify(conversations.eventCursor)}) { kind message { body } } }`,
    );
    await page.getByRole('button', { name: /^Execute query/ }).click();
    await result().getByText('replayed-message').waitFor();
    await sendByApi(server.graphqlUrl, bobAuth.token, conversationId, 'live-message');
    await result().getByText('live-message').waitFor();
    await screenshot(page, 'graphiql-subscription');

    expect(blocked).toEqual([]);
    expect(errors).toEqual([]);
  });
});
