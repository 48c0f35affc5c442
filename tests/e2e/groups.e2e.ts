// Issue #15 in Chromium: a rename shows on the other side, a removed member's
// view loses the group, and "Log out everywhere" in one browser sends the
// other back to the login screen. Each person acts through accessible names.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DESKTOP,
  graphql,
  launchBrowser,
  newPage,
  PASSWORD,
  screenshot,
  type ServerProcess,
  signUpByApi,
  signUpInBrowser,
  startServerProcess,
  uniqueName,
} from './harness.js';

/** What "at once" allows on a busy machine. */
const LIVE_MS = 5_000;

let server: ServerProcess;
let browser: Browser;
const errors: string[] = [];
const list = (page: Page) => page.getByRole('navigation', { name: 'Conversations' });

beforeAll(async () => {
  server = await startServerProcess();
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function logIn(page: Page, username: string): Promise<void> {
  await page.goto(server.url);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await list(page).waitFor();
}

describe('running a group', () => {
  const owner = uniqueName('owner');
  const member = uniqueName('member');
  let ownerPage: Page;
  let memberPage: Page;
  let groupId: string;

  beforeAll(async () => {
    ownerPage = await newPage(await browser.newContext({ viewport: DESKTOP }), errors);
    memberPage = await newPage(await browser.newContext({ viewport: DESKTOP }), errors);
    await signUpInBrowser(ownerPage, server.url, owner);
    const { id: memberId } = await signUpByApi(server.graphqlUrl, member);
    const token = await ownerPage.evaluate(() => localStorage.getItem('chat.token') ?? '');
    const created = await graphql(
      server.graphqlUrl,
      'mutation ($input: CreateGroupInput!) { createGroupConversation(input: $input) { id } }',
      { input: { title: 'Book club', memberIds: [memberId] } },
      token,
    );
    groupId = created.createGroupConversation.id;
    await logIn(memberPage, member);
    await list(memberPage)
      .getByRole('link', { name: /Book club/ })
      .waitFor({ timeout: LIVE_MS });
  });

  it('renames the group in its details panel, and the other member sees the new name at once', async () => {
    await list(ownerPage)
      .getByRole('link', { name: /Book club/ })
      .click();
    await ownerPage.getByRole('button', { name: 'Group details' }).click();
    const details = ownerPage.getByRole('region', { name: 'Group details' });
    await details.getByRole('list', { name: 'Members' }).getByText(member, { exact: true }).waitFor();
    await details.getByLabel('Group name').fill('Reading circle');
    await details.getByRole('button', { name: 'Rename group' }).click();
    await ownerPage.getByRole('heading', { name: 'Reading circle' }).waitFor();
    await list(memberPage)
      .getByRole('link', { name: /Reading circle/ })
      .waitFor({ timeout: LIVE_MS });
    await screenshot(ownerPage, 'group-details-desktop');
  });

  it('changes the display name in the profile panel: the header shows it at once, the other member sees it live', async () => {
    await ownerPage.getByRole('button', { name: 'Profile', exact: true }).click();
    const profile = ownerPage.getByRole('region', { name: 'Profile' });
    await profile.getByLabel('Display name').fill('Club Owner');
    await profile.getByRole('button', { name: 'Save display name' }).click();
    await ownerPage.locator('.me-name', { hasText: 'Club Owner' }).waitFor({ timeout: LIVE_MS });
    await profile.getByRole('button', { name: 'Close profile' }).click();
    await list(memberPage)
      .getByRole('link', { name: /Reading circle/ })
      .click();
    await memberPage.getByRole('button', { name: 'Group details', exact: true }).click();
    const details = memberPage.getByRole('region', { name: 'Group details' });
    await details.getByRole('list', { name: 'Members' }).getByText('Club Owner').waitFor({ timeout: LIVE_MS });
    await memberPage.getByRole('button', { name: 'Group details', exact: true }).click();
  });

  it('makes a member admin, then removes them: their view loses the group', async () => {
    await list(memberPage)
      .getByRole('link', { name: /Reading circle/ })
      .click();
    await memberPage.getByRole('heading', { name: 'Reading circle' }).waitFor();
    const details = ownerPage.getByRole('region', { name: 'Group details' });
    await details.getByRole('button', { name: `Make ${member} admin` }).click();
    await details.getByRole('button', { name: `Make ${member} a member` }).waitFor();
    await details.getByRole('button', { name: `Remove ${member} from the group` }).click();
    await list(memberPage)
      .getByRole('link', { name: /Reading circle/ })
      .waitFor({ state: 'detached', timeout: LIVE_MS });
    await memberPage.getByRole('heading', { name: 'Reading circle' }).waitFor({ state: 'detached', timeout: LIVE_MS });
    await details
      .getByRole('list', { name: 'Members' })
      .getByText(member, { exact: true })
      .waitFor({ state: 'detached' });
    expect(groupId).toBeTruthy();
  });
});

describe('sessions', () => {
  it('logs out everywhere from one browser, and the other returns to the login screen', async () => {
    const name = uniqueName('twice');
    const first = await newPage(await browser.newContext({ viewport: DESKTOP }), errors);
    const second = await newPage(await browser.newContext({ viewport: DESKTOP }), errors);
    await signUpInBrowser(first, server.url, name);
    await logIn(second, name);
    await first.getByRole('button', { name: 'Log out everywhere' }).click();
    await first.getByRole('button', { name: 'Log in' }).waitFor();
    await second.getByRole('button', { name: 'Log in' }).waitFor({ timeout: LIVE_MS });
    expect(await second.evaluate(() => localStorage.getItem('chat.token'))).toBeNull();
    await screenshot(second, 'logged-out-everywhere');
  });

  it('had no script errors', () => {
    expect(errors).toEqual([]);
  });
});
