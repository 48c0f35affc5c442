// Two people chatting in two browser contexts, one at desktop width and one
// at phone width, against the real server. The tests run in order and share
// the conversation they build up.
import type { Browser, BrowserContext, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  controllableSockets,
  DESKTOP,
  launchBrowser,
  newPage,
  openConversationId,
  PHONE,
  screenshot,
  sendByApi,
  type ServerProcess,
  signUpByApi,
  signUpInBrowser,
  startServerProcess,
  tokenOf,
  uniqueName,
} from './harness.js';

/** The promise: a message typed by one appears in the other within this time. */
const DELIVERY_MS = 2_000;
/** Reconnecting after a drop includes a backoff of a few seconds. */
const RECONNECT_MS = 25_000;
/** How much less each of a burst of sends is delayed on its way than the one before. */
const SEND_HOLD_STEP_MS = 40;

let server: ServerProcess;
let browser: Browser;
let aliceContext: BrowserContext;
let bobContext: BrowserContext;
let bobSockets: Awaited<ReturnType<typeof controllableSockets>>;
let alicePage: Page;
let bobPage: Page;
const errors: string[] = [];
const alice = uniqueName('alice');
const bob = uniqueName('bob');
let conversationId = '';

const log = (page: Page) => page.getByRole('log', { name: 'Messages' });
const composer = (page: Page) => page.getByRole('textbox', { name: 'Message' });
const list = (page: Page) => page.getByRole('navigation', { name: 'Conversations' });

/** The bodies of the messages in the page's log, in order. */
function bodies(page: Page): Promise<string[]> {
  return log(page).locator('.message-body').allInnerTexts();
}

async function send(page: Page, text: string): Promise<void> {
  await composer(page).fill(text);
  await composer(page).press('Enter');
}

function messageWith(page: Page, text: string) {
  return log(page).locator('.message').filter({ hasText: text });
}

beforeAll(async () => {
  server = await startServerProcess();
  browser = await launchBrowser();
  aliceContext = await browser.newContext({ viewport: DESKTOP });
  bobContext = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true });
  bobSockets = await controllableSockets(bobContext);
  alicePage = await newPage(aliceContext, errors);
  bobPage = await newPage(bobContext, errors);
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('chat between two people', () => {
  it('serves the client at / and GraphiQL at /graphql', async () => {
    const page = await fetch(server.url);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('<div id="root">');
    const graphiql = await fetch(server.graphqlUrl, { headers: { accept: 'text/html' } });
    expect((await graphiql.text()).toLowerCase()).toContain('graphiql');
  });

  it('signs both up', async () => {
    await alicePage.goto(server.url);
    await alicePage.getByRole('button', { name: 'Log in' }).waitFor();
    await screenshot(alicePage, 'login-desktop');
    await bobPage.goto(server.url);
    await bobPage.getByRole('button', { name: 'Sign up' }).waitFor();
    await screenshot(bobPage, 'login-phone');

    await signUpInBrowser(alicePage, server.url, alice);
    await signUpInBrowser(bobPage, server.url, bob);
    await list(bobPage).getByText('No conversations yet').waitFor();
  });

  it('starts a DIRECT conversation by clicking the person found by search, and the message arrives within 2 seconds', async () => {
    await alicePage.getByRole('button', { name: 'New conversation' }).click();
    await alicePage.getByRole('searchbox', { name: 'Search users' }).fill(bob);
    const person = alicePage.getByRole('list', { name: 'People' }).getByText(bob, { exact: true });
    await person.waitFor();
    await screenshot(alicePage, 'new-conversation-desktop');
    // The name itself, as a person would click it; the row is one button (so the keyboard reaches it too).
    await person.click();
    await alicePage.getByRole('heading', { name: bob }).waitFor();
    conversationId = await openConversationId(alicePage);

    await send(alicePage, 'Hello Bob');
    // Bob is on the list: the conversation appears there live, with an unread badge.
    const entry = list(bobPage).getByRole('link', { name: new RegExp(alice) });
    await entry.waitFor({ timeout: DELIVERY_MS });
    await entry.getByText('Hello Bob').waitFor({ timeout: DELIVERY_MS });
    await entry.getByLabel('1 unread').waitFor();
    await entry.getByRole('img', { name: 'online' }).waitFor();
    await screenshot(bobPage, 'list-phone');

    await entry.click();
    await log(bobPage).getByText('Hello Bob').waitFor();
    expect(await list(bobPage).isVisible()).toBe(false); // one view at a time on a phone
    // Reading it moves the read marker: the badge is gone once back on the list.
    await bobPage.getByRole('button', { name: 'Back to conversations' }).click();
    await list(bobPage)
      .getByRole('link', { name: new RegExp(alice) })
      .waitFor();
    // The badge goes once the read marker's answer is back (markRead runs as the conversation shows).
    await expect
      .poll(
        () =>
          list(bobPage)
            .getByLabel(/unread/)
            .count(),
        { timeout: DELIVERY_MS },
      )
      .toBe(0);
    await list(bobPage)
      .getByRole('link', { name: new RegExp(alice) })
      .click();
    await log(bobPage).getByText('Hello Bob').waitFor();

    // And the other way round, timed from the key press.
    await composer(bobPage).fill('Hi Alice 👋');
    const sentAt = Date.now();
    await composer(bobPage).press('Enter');
    await log(alicePage).getByText('Hi Alice 👋').waitFor({ timeout: DELIVERY_MS });
    expect(Date.now() - sentAt).toBeLessThan(DELIVERY_MS);
  });

  it('shows own messages at once, confirms them in place and never twice', async () => {
    await send(alicePage, 'one');
    await send(alicePage, 'two');
    await send(alicePage, 'three');
    await messageWith(bobPage, 'three').waitFor({ timeout: DELIVERY_MS });
    await alicePage.waitForFunction(() => document.querySelectorAll('.message.pending').length === 0);
    for (const page of [alicePage, bobPage]) {
      const texts = await bodies(page);
      expect(texts.slice(-3)).toEqual(['one', 'two', 'three']);
      expect(texts.filter((text) => text === 'two')).toHaveLength(1);
    }
  });

  it('renders message text as text, wraps long words and shows emoji', async () => {
    const html = '<img src=x onerror="window.__pwned=1"><b>bold</b><script>window.__pwned=2</script>';
    await send(alicePage, html);
    await log(bobPage).getByText(html).waitFor({ timeout: DELIVERY_MS });
    expect(await log(bobPage).locator('img, b, script').count()).toBe(0);
    expect(await bobPage.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();

    const longWord = 'Supercalifragilisticexpialidocious'.repeat(6);
    await send(alicePage, `${longWord} 🎉🚀`);
    await log(bobPage).getByText(longWord).waitFor({ timeout: DELIVERY_MS });
    const overflow = await log(bobPage).evaluate((element) => element.scrollWidth - element.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
  });

  it('shows who is typing and clears it', async () => {
    await composer(bobPage).pressSequentially('I am typ', { delay: 30 });
    const typing = alicePage.getByText(`${bob} is typing…`);
    await typing.waitFor({ timeout: DELIVERY_MS });
    await composer(bobPage).fill('');
    await typing.waitFor({ state: 'detached', timeout: DELIVERY_MS });
  });

  it('edits, deletes and reacts', async () => {
    const hello = messageWith(alicePage, 'Hello Bob');
    await hello.hover();
    await hello.getByRole('button', { name: 'Edit message' }).click();
    await alicePage.getByRole('textbox', { name: 'Edit message' }).fill('Hello Bob, edited');
    await alicePage.getByRole('textbox', { name: 'Edit message' }).press('Enter');
    const edited = messageWith(bobPage, 'Hello Bob, edited');
    await edited.waitFor({ timeout: DELIVERY_MS });
    await edited.getByText('edited', { exact: false }).first().waitFor();

    const hi = messageWith(alicePage, 'Hi Alice');
    await hi.hover();
    await hi.getByRole('button', { name: 'Add reaction' }).click();
    await alicePage.getByRole('button', { name: 'React with thumbs up' }).click();
    await messageWith(bobPage, 'Hi Alice').getByRole('button', { name: '👍 1' }).waitFor({ timeout: DELIVERY_MS });
    expect(
      await messageWith(alicePage, 'Hi Alice').getByRole('button', { name: '👍 1' }).getAttribute('aria-pressed'),
    ).toBe('true');

    const doomed = messageWith(alicePage, 'two');
    alicePage.once('dialog', (dialog) => void dialog.accept());
    await doomed.hover();
    await doomed.getByRole('button', { name: 'Delete message' }).click();
    await alicePage.getByText('This message was deleted').waitFor();
    await log(bobPage).getByText('This message was deleted').waitFor({ timeout: DELIVERY_MS });
    expect(await bodies(bobPage)).not.toContain('two');
  });

  it('shows API errors next to the composer', async () => {
    await send(alicePage, 'x'.repeat(4001));
    const alert = alicePage.locator('.composer').getByRole('alert');
    await alert.getByText(/body must be 1 to 4000 characters/i).waitFor();
    await alicePage.getByRole('button', { name: 'Discard' }).click();
    await alert.waitFor({ state: 'detached' });
    await screenshot(alicePage, 'conversation-desktop');
    await screenshot(bobPage, 'conversation-phone');
  });

  it('shows presence: offline when the page closes, online again when it comes back, logged in', async () => {
    const header = bobPage.locator('.conversation-header');
    await header.getByRole('img', { name: 'online' }).waitFor();
    await alicePage.close();
    await header.getByRole('img', { name: 'offline' }).waitFor({ timeout: 5_000 });

    alicePage = await newPage(aliceContext, errors);
    await alicePage.goto(`${server.url}/#/c/${encodeURIComponent(conversationId)}`);
    await log(alicePage).getByText('Hello Bob, edited').waitFor();
    expect(await alicePage.getByRole('button', { name: 'Log in' }).count()).toBe(0);
    await header.getByRole('img', { name: 'online' }).waitFor({ timeout: 5_000 });
  });

  it('delivers what was sent during a network drop once, in order, after reconnecting', async () => {
    await bobSockets.drop();
    await bobPage.getByText('Connection lost. Reconnecting…').waitFor();
    for (const n of [1, 2, 3]) await send(alicePage, `while away ${n}`);
    await messageWith(alicePage, 'while away 3').waitFor();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await bodies(bobPage)).filter((text) => text.startsWith('while away'))).toEqual([]);

    bobSockets.reconnect();
    await messageWith(bobPage, 'while away 3').waitFor({ timeout: RECONNECT_MS });
    await bobPage.getByText('Connection lost. Reconnecting…').waitFor({ state: 'detached' });
    expect((await bodies(bobPage)).filter((text) => text.startsWith('while away'))).toEqual([
      'while away 1',
      'while away 2',
      'while away 3',
    ]);
    // And live delivery goes on.
    await send(alicePage, 'back online');
    await messageWith(bobPage, 'back online').waitFor({ timeout: DELIVERY_MS });
  });

  it('delivers what was sent around a server restart once, in order', async () => {
    const aliceToken = await tokenOf(alicePage);
    await server.kill();
    await bobPage.getByText('Connection lost. Reconnecting…').waitFor();
    await server.start();
    // Sent right away, most likely before either page has reconnected.
    await sendByApi(server.graphqlUrl, aliceToken, conversationId, 'after restart 1');
    await sendByApi(server.graphqlUrl, aliceToken, conversationId, 'after restart 2');
    for (const page of [alicePage, bobPage]) {
      await messageWith(page, 'after restart 2').waitFor({ timeout: RECONNECT_MS });
      expect((await bodies(page)).filter((text) => text.startsWith('after restart'))).toEqual([
        'after restart 1',
        'after restart 2',
      ]);
    }
    await send(bobPage, 'still here');
    await messageWith(alicePage, 'still here').waitFor({ timeout: DELIVERY_MS });
  });

  it('keeps the login and the history across a reload', async () => {
    const before = await bodies(bobPage);
    await bobPage.reload();
    await messageWith(bobPage, 'still here').waitFor();
    expect(await bodies(bobPage)).toEqual(before);
    expect(new Set(before).size).toBe(before.length);
  });

  it('scrolls back through history without jumps', async () => {
    const aliceToken = await tokenOf(alicePage);
    for (let n = 1; n <= 45; n++) await sendByApi(server.graphqlUrl, aliceToken, conversationId, `history ${n}`);
    await messageWith(bobPage, 'history 45').waitFor({ timeout: DELIVERY_MS });
    await bobPage.reload();
    await messageWith(bobPage, 'history 45').waitFor();
    expect(await messageWith(bobPage, 'Hello Bob').count()).toBe(0); // not in the newest page

    // Scroll to the top: the message that was first stays where it was while older ones load above it.
    const anchorText = (await bodies(bobPage))[0]!;
    const anchorTop = await log(bobPage).evaluate((element, text) => {
      element.scrollTop = 0;
      const anchor = [...element.querySelectorAll('.message-body')].find((body) => body.textContent === text)!;
      return anchor.getBoundingClientRect().top;
    }, anchorText);
    await messageWith(bobPage, 'Hello Bob, edited').waitFor();
    const anchorTopAfter = await log(bobPage).evaluate((element, text) => {
      const anchor = [...element.querySelectorAll('.message-body')].find((body) => body.textContent === text)!;
      return anchor.getBoundingClientRect().top;
    }, anchorText);
    expect(Math.abs(anchorTopAfter - anchorTop)).toBeLessThanOrEqual(2);

    const all = await bodies(bobPage);
    expect(all.filter((text) => text.startsWith('history '))).toEqual(
      Array.from({ length: 45 }, (_, i) => `history ${i + 1}`),
    );
    expect(new Set(all).size).toBe(all.length);
  });

  it('follows new messages at the bottom, and leaves the reader alone when scrolled up', async () => {
    await log(bobPage).evaluate((element) => (element.scrollTop = element.scrollHeight));
    await send(alicePage, 'follow me');
    await messageWith(bobPage, 'follow me').waitFor({ timeout: DELIVERY_MS });
    await bobPage.waitForTimeout(100);
    expect(await messageWith(bobPage, 'follow me').isVisible()).toBe(true);
    expect(await log(bobPage).evaluate((e) => e.scrollHeight - e.scrollTop - e.clientHeight)).toBeLessThan(50);

    await log(bobPage).evaluate((element) => (element.scrollTop = element.scrollHeight / 3));
    await bobPage.waitForTimeout(100);
    const scrolledTo = await log(bobPage).evaluate((element) => element.scrollTop);
    await send(alicePage, 'do not jump');
    await messageWith(bobPage, 'do not jump').waitFor({ state: 'attached', timeout: DELIVERY_MS });
    expect(await log(bobPage).evaluate((element) => element.scrollTop)).toBe(scrolledTo);
  });

  it('keeps quick sends in the order typed, each once, on both screens', async () => {
    const typed = Array.from({ length: 10 }, (_, i) => `quick ${i + 1}`);
    // The network does not keep concurrent requests in order: each send is
    // held back a little less than the one before, so a later one overtakes
    // an earlier one whenever both are on their way at once.
    let holdMs = typed.length * SEND_HOLD_STEP_MS;
    const holdSends = async (route: Route) => {
      if (route.request().postData()?.includes('mutation SendMessage')) {
        holdMs = Math.max(0, holdMs - SEND_HOLD_STEP_MS);
        await new Promise((resolve) => setTimeout(resolve, holdMs));
      }
      await route.continue();
    };
    await alicePage.route('**/graphql', holdSends);
    try {
      // As fast as the UI takes them: no waiting for any send to be confirmed.
      for (const text of typed) await send(alicePage, text);
      for (const page of [alicePage, bobPage]) {
        await expect
          .poll(async () => (await bodies(page)).filter((text) => text.startsWith('quick ')), { timeout: 10_000 })
          .toEqual(typed);
      }
      // Confirmed in place: nothing left pending, nothing shown twice.
      await alicePage.waitForFunction(() => document.querySelectorAll('.message.pending').length === 0);
      expect((await bodies(alicePage)).filter((text) => text.startsWith('quick '))).toEqual(typed);
    } finally {
      await alicePage.unroute('**/graphql', holdSends);
    }
    // And stored in that order: a reload reads them back from the server.
    await bobPage.reload();
    await log(bobPage).getByText('quick 10', { exact: true }).waitFor();
    expect((await bodies(bobPage)).filter((text) => text.startsWith('quick '))).toEqual(typed);
  });

  it('sends again after a network error, with the same clientMessageId, so the message shows once and in order', async () => {
    // The first try never reaches the server; the second is stored but its answer is lost.
    const tries: string[] = [];
    const failFirstTries = async (route: Route) => {
      const body = route.request().postData() ?? '';
      if (!body.includes('mutation SendMessage') || !body.includes('lost on the way')) return route.continue();
      tries.push(
        (JSON.parse(body) as { variables: { input: { clientMessageId: string } } }).variables.input.clientMessageId,
      );
      if (tries.length === 1) return route.abort('connectionreset');
      if (tries.length === 2) {
        await route.fetch();
        return route.abort('connectionreset');
      }
      return route.continue();
    };
    await alicePage.route('**/graphql', failFirstTries);
    try {
      await send(alicePage, 'lost on the way');
      await send(alicePage, 'sent after it');
      await alicePage.waitForFunction(() => document.querySelectorAll('.message.pending').length === 0, undefined, {
        timeout: 15_000,
      });
    } finally {
      await alicePage.unroute('**/graphql', failFirstTries);
    }
    expect(tries.length).toBeGreaterThanOrEqual(3);
    expect(new Set(tries).size).toBe(1);
    const expected = ['lost on the way', 'sent after it'];
    for (const page of [alicePage, bobPage]) {
      await messageWith(page, 'sent after it').waitFor({ timeout: DELIVERY_MS });
      expect((await bodies(page)).filter((text) => expected.includes(text))).toEqual(expected);
    }
    expect(await alicePage.locator('.send-failed').count()).toBe(0);
  });

  it('creates a group, which appears live for its members', async () => {
    const carol = uniqueName('carol');
    await signUpByApi(server.graphqlUrl, carol);
    await bobPage.getByRole('button', { name: 'Back to conversations' }).click();

    await alicePage.getByRole('button', { name: 'New conversation' }).click();
    const search = alicePage.getByRole('searchbox', { name: 'Search users' });
    await search.fill(carol);
    await alicePage.getByRole('button', { name: `Add ${carol} to the group` }).click();
    await search.fill(bob);
    await alicePage.getByRole('button', { name: `Add ${bob} to the group` }).click();
    await alicePage.getByLabel('Group title').fill('Weekend plans 🏕️');
    await alicePage.getByRole('button', { name: 'Create group' }).click();
    await alicePage.getByRole('heading', { name: 'Weekend plans 🏕️' }).waitFor();
    await send(alicePage, 'Who is in?');

    const entry = list(bobPage).getByRole('link', { name: /Weekend plans/ });
    await entry.getByText(`${alice}: Who is in?`).waitFor({ timeout: DELIVERY_MS });
    // Most recent activity first.
    const titles = await list(bobPage).locator('.conversation-title').allInnerTexts();
    expect(titles[0]).toBe('Weekend plans 🏕️');
    await screenshot(bobPage, 'list-phone-group');
    await entry.click();
    await log(bobPage).getByText('Who is in?').waitFor();
    await screenshot(alicePage, 'group-desktop');
    await screenshot(bobPage, 'group-phone');
  });

  it('had no script errors', () => {
    expect(errors).toEqual([]);
  });
});

describe('an expired session', () => {
  let shortServer: ServerProcess;
  beforeAll(async () => {
    shortServer = await startServerProcess({ TOKEN_TTL: '8s' });
  });
  afterAll(() => shortServer?.stop());

  it('sends the user back to log in when the token expires without a refresh', async () => {
    const context = await browser.newContext({ viewport: DESKTOP });
    // No socket, so no refresh ahead of expiry (the client refreshes over the socket): the token runs out.
    await context.routeWebSocket(/\/graphql$/, (ws) => void ws.close({ code: 1012, reason: 'Test: offline' }));
    const page = await newPage(context, errors);
    const name = uniqueName('brief');
    await signUpInBrowser(page, shortServer.url, name);
    await page.getByRole('button', { name: 'Log in' }).waitFor({ timeout: 15_000 });
    await page.getByText('Your session has expired').waitFor();
    await screenshot(page, 'session-expired-desktop');
    // Logging in again works, and the new token is kept.
    await page.getByLabel('Username').fill(name);
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('navigation', { name: 'Conversations' }).waitFor();
    await context.close();
  });

  it('goes back to the login when the server closes the socket with 4403', async () => {
    const context = await browser.newContext({ viewport: PHONE });
    const sockets: Array<{ close(options: { code: number; reason: string }): Promise<void> }> = [];
    await context.routeWebSocket(/\/graphql$/, (ws) => {
      ws.connectToServer();
      sockets.push(ws);
    });
    const page = await newPage(context, errors);
    // The long-lived tokens of the main server: only the close can end this session.
    await signUpInBrowser(page, server.url, uniqueName('revoked'));
    await expect.poll(() => sockets.length).toBeGreaterThan(0);
    await page.waitForTimeout(500);
    // What the server does when a token expires or is no longer accepted (graphql-ws CloseCode.Forbidden).
    await Promise.all(sockets.map((socket) => socket.close({ code: 4403, reason: 'Forbidden' })));
    await page.getByRole('button', { name: 'Log in' }).waitFor({ timeout: 5_000 });
    await page.getByText('Your session has expired').waitFor();
    expect(await page.evaluate(() => localStorage.getItem('chat.token'))).toBeNull();
    await context.close();
  });

  it('goes back to the login when the kept token is no longer accepted', async () => {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await newPage(context, errors);
    await page.goto(shortServer.url);
    // A well-formed, unexpired token that the server did not sign.
    const claims = Buffer.from(JSON.stringify({ exp: Math.floor(Date.now() / 1000) + 3600 })).toString('base64url');
    await page.evaluate((token) => localStorage.setItem('chat.token', token), `e30.${claims}.x`);
    await page.reload();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    expect(await page.evaluate(() => localStorage.getItem('chat.token'))).toBeNull();
    await context.close();
  });
});
