// Replies, mentions and search in the browser (issue #16): two people in two
// browser contexts against the real server. The tests run in order and share
// the conversation they build up.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DESKTOP,
  graphql,
  launchBrowser,
  newPage,
  screenshot,
  sendByApi,
  type ServerProcess,
  signUpInBrowser,
  startServerProcess,
  tokenOf,
  uniqueName,
} from './harness.js';

/** A message typed by one appears in the other's view within this time. */
const DELIVERY_MS = 5_000;
/** Messages sent after the old one: more than a history page (30), so reaching it needs older pages. */
const LATER_MESSAGES = 75;

let server: ServerProcess;
let browser: Browser;
let aliceContext: BrowserContext;
let bobContext: BrowserContext;
let alicePage: Page;
let bobPage: Page;
const errors: string[] = [];
const alice = uniqueName('alice');
const bob = uniqueName('bob');
const oldWord = `zebra${Math.random().toString(36).slice(2, 8)}`;
let conversationId = '';
let aliceToken = '';

const log = (page: Page) => page.getByRole('log', { name: 'Messages' });
const composer = (page: Page) => page.getByRole('textbox', { name: 'Message' });
const messageWith = (page: Page, text: string) => log(page).locator('.message').filter({ hasText: text });
/** The body of a message itself, not a quote of it in a reply. */
const bodyWith = (page: Page, text: string) => log(page).locator('.message-body').filter({ hasText: text });

/** Whether the element is inside the message log's visible area. */
function inView(page: Page, text: string): Promise<boolean> {
  return bodyWith(page, text).evaluate((element) => {
    const logBox = element.closest('.message-log')!.getBoundingClientRect();
    const box = element.getBoundingClientRect();
    return box.bottom > logBox.top && box.top < logBox.bottom;
  });
}

beforeAll(async () => {
  server = await startServerProcess();
  browser = await launchBrowser();
  aliceContext = await browser.newContext({ viewport: DESKTOP });
  bobContext = await browser.newContext({ viewport: DESKTOP });
  alicePage = await newPage(aliceContext, errors);
  bobPage = await newPage(bobContext, errors);
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  expect(errors).toEqual([]); // no script error on either page
});

describe('replies, mentions and search in the browser', () => {
  it('sets up a conversation with an old message far back in its history', async () => {
    await signUpInBrowser(alicePage, server.url, alice);
    await signUpInBrowser(bobPage, server.url, bob);
    aliceToken = await tokenOf(alicePage);
    const found = await graphql(
      server.graphqlUrl,
      'query ($search: String) { users(search: $search, first: 1) { edges { node { id } } } }',
      { search: bob },
      aliceToken,
    );
    const opened = await graphql(
      server.graphqlUrl,
      'mutation ($userId: ID!) { openDirectConversation(userId: $userId) { id } }',
      { userId: found.users.edges[0].node.id },
      aliceToken,
    );
    conversationId = opened.openDirectConversation.id;
    await sendByApi(server.graphqlUrl, aliceToken, conversationId, `The ${oldWord} crossed the road`);
    for (let index = 0; index < LATER_MESSAGES; index++) {
      await sendByApi(server.graphqlUrl, aliceToken, conversationId, `later message ${index}`);
    }
    await sendByApi(server.graphqlUrl, aliceToken, conversationId, 'Lunch at noon?');
    for (const page of [alicePage, bobPage]) {
      await page.getByRole('navigation', { name: 'Conversations' }).getByRole('link').first().click();
      await messageWith(page, 'Lunch at noon?').waitFor();
    }
  });

  it('replies to a message: the original is quoted above the composer, then above the reply on both sides', async () => {
    const original = messageWith(bobPage, 'Lunch at noon?');
    await original.hover();
    await original.getByRole('button', { name: 'Reply' }).click();
    await bobPage.getByLabel('Replying to').getByText('Lunch at noon?').waitFor();
    await composer(bobPage).fill('Yes, see you there');
    await composer(bobPage).press('Enter');
    await expect(bobPage.getByLabel('Replying to').count()).resolves.toBe(0);

    for (const page of [bobPage, alicePage]) {
      const reply = messageWith(page, 'Yes, see you there');
      await reply.waitFor({ timeout: DELIVERY_MS });
      await reply.getByRole('button', { name: /^Reply to .*: Lunch at noon\?$/ }).waitFor({ timeout: DELIVERY_MS });
    }
    await screenshot(alicePage, 'search-reply');
  });

  it('a click on a quote brings the original into view, reading older history when it is not loaded', async () => {
    const oldId = (
      await graphql(
        server.graphqlUrl,
        'query ($q: String!) { searchMessages(query: $q) { edges { node { id } } } }',
        { q: oldWord },
        aliceToken,
      )
    ).searchMessages.edges[0].node.id;
    await graphql(
      server.graphqlUrl,
      'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id } }',
      { input: { conversationId, body: 'Remember this one?', replyToId: oldId } },
      aliceToken,
    );
    const reply = messageWith(bobPage, 'Remember this one?');
    await reply.waitFor({ timeout: DELIVERY_MS });
    expect(await bodyWith(bobPage, oldWord).count()).toBe(0); // not loaded yet
    await reply.getByRole('button', { name: new RegExp(`Reply to .*${oldWord}`) }).click();
    await bodyWith(bobPage, oldWord).waitFor({ timeout: 15_000 });
    await expect.poll(() => inView(bobPage, oldWord), { timeout: 10_000 }).toBe(true);
  });

  it('@ suggests members; the mention is highlighted on the mentioned person’s side', async () => {
    await composer(alicePage).fill(`Ask @${bob.slice(0, 4)}`);
    const suggestions = alicePage.getByRole('listbox', { name: 'Mention suggestions' });
    await suggestions.getByRole('option', { name: new RegExp(bob) }).waitFor();
    await composer(alicePage).press('Enter'); // picks the suggestion, does not send
    await expect(composer(alicePage).inputValue()).resolves.toBe(`Ask @${bob} `);
    await composer(alicePage).pressSequentially('about the menu');
    await composer(alicePage).press('Enter');

    const received = messageWith(bobPage, 'about the menu');
    await received.waitFor({ timeout: DELIVERY_MS });
    const mention = received.locator('.mention-me');
    await expect(mention.innerText()).resolves.toBe(`@${bob}`);
    // On the sender's side it is a mention, but not of her.
    const sent = messageWith(alicePage, 'about the menu');
    await sent.locator('.mention').waitFor();
    expect(await sent.locator('.mention-me').count()).toBe(0);
    await screenshot(bobPage, 'search-mention');
  });

  it('searches, and a result opens the conversation at that old message with the matched word marked', async () => {
    // Bob starts from another place: the conversation closed.
    await bobPage.goto(server.url);
    await bobPage.getByRole('navigation', { name: 'Conversations' }).waitFor();
    const box = bobPage.getByRole('searchbox', { name: 'Search messages' });
    await box.fill(`${oldWord.toUpperCase()} road`);
    await box.press('Enter');
    const results = bobPage.getByRole('list', { name: 'Search results' });
    const result = results.getByRole('button').filter({ hasText: oldWord });
    await result.waitFor();
    await expect(result.locator('mark').allInnerTexts()).resolves.toEqual([oldWord, 'road']);
    await result.click();

    const target = bodyWith(bobPage, `The ${oldWord} crossed the road`);
    await target.waitFor({ timeout: 15_000 });
    await expect.poll(() => inView(bobPage, oldWord), { timeout: 10_000 }).toBe(true);
    await expect(target.locator('mark').allInnerTexts()).resolves.toEqual([oldWord, 'road']);
    await screenshot(bobPage, 'search-jump');
  });
});
