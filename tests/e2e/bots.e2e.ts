// Bots in Chromium (issue #14): a user creates a bot in the Bots panel, sees
// its token and webhook secret once (with copy buttons), and the bot's reply,
// posted through its webhook, shows with the "bot" badge.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhookReceiver.js';
import {
  graphql,
  launchBrowser,
  newPage,
  screenshot,
  type ServerProcess,
  signUpInBrowser,
  startServerProcess,
  tokenOf,
  uniqueName,
} from './harness.js';

let server: ServerProcess;
let browser: Browser;
let receiver: WebhookReceiver;
const errors: string[] = [];
/** How long a live update may take to show. */
const LIVE_MS = 15_000;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  // The receiver is on loopback: allowed here on purpose.
  server = await startServerProcess({ WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_BASE_MS: '200' });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await receiver?.close();
  expect(errors).toEqual([]);
  expect(receiver.rejected).toEqual([]);
});

const composer = (page: Page) => page.getByRole('textbox', { name: 'Message' });

describe('bots in the browser', () => {
  it('creates a bot, shows its token once, and shows its reply with the bot badge', async () => {
    const context = await browser.newContext();
    try {
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
      const page = await newPage(context, errors);
      await signUpInBrowser(page, server.url, uniqueName('owner'));
      const endpoint = receiver.endpoint(uniqueName('hook'));
      endpoint.script((delivery) => ({ json: { text: `Echo: ${delivery.body.message.body}` } }));

      await page.getByRole('button', { name: 'Bots', exact: true }).click();
      const panel = page.getByRole('region', { name: 'Bots' });
      const botName = uniqueName('echo');
      await panel.getByLabel('Bot username').fill(botName);
      await panel.getByLabel('Bot display name').fill('Echo Bot');
      await panel.getByLabel('Webhook URL (optional)').fill(endpoint.url);
      await panel.getByRole('button', { name: 'Create bot' }).click();

      const token = await panel.getByRole('textbox', { name: 'Token' }).inputValue();
      expect(token).toMatch(/^chatbot_/);
      const secret = await panel.getByRole('textbox', { name: 'Webhook secret' }).inputValue();
      expect(secret).toMatch(/^[0-9a-f]{64}$/);
      endpoint.setSecret(secret);
      await screenshot(page, 'bots-credentials');
      await panel.getByRole('button', { name: 'Copy token' }).click();
      await panel.getByRole('button', { name: 'Copied' }).waitFor();
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token);
      await panel.getByRole('button', { name: 'Done, hide them' }).click();
      // Shown once: gone from the page, and nothing in the list shows it again.
      await panel.getByRole('button', { name: 'Rotate token of Echo Bot' }).waitFor();
      expect(await page.content()).not.toContain(token);
      expect(await page.content()).not.toContain(secret);

      // The bot's token works as a user's does; the owner opens a DIRECT conversation with it.
      const bot = (await graphql(server.graphqlUrl, '{ me { id isBot } }', {}, token)).me;
      expect(bot.isBot).toBe(true);
      const conversationId = (
        await graphql(
          server.graphqlUrl,
          'mutation ($userId: ID!) { openDirectConversation(userId: $userId) { id } }',
          { userId: bot.id },
          await tokenOf(page),
        )
      ).openDirectConversation.id;
      await page.getByRole('button', { name: 'Close bots' }).click();
      await page.goto(`${server.url}/#/c/${encodeURIComponent(conversationId)}`);
      await composer(page).fill('hello bot');
      await composer(page).press('Enter');

      const reply = page.locator('.message', { hasText: 'Echo: hello bot' });
      await reply.waitFor({ timeout: LIVE_MS });
      await reply
        .locator('.message-sender', { hasText: 'Echo Bot' })
        .locator('.bot-badge', { hasText: 'bot' })
        .waitFor();
      await screenshot(page, 'bots-reply');
      expect(receiver.deliveries(endpoint.path).map((delivery) => delivery.body.message.body)).toEqual(['hello bot']);
    } finally {
      await context.close();
    }
  });
});
