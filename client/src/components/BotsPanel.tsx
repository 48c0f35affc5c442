// The viewer's bots: create one (its token and webhook secret are shown once,
// with copy buttons), list them, rotate a token, delete a bot.
import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { useClient } from 'urql';
import { graphql } from '../gql/index.js';
import type { BotCredentialsFieldsFragment, MyBotsQuery } from '../gql/graphql.js';
import { describeError } from '../lib/errors.js';
import { formatShort } from './bits.js';

export const BotCredentialsFields = graphql(`
  fragment BotCredentialsFields on BotCredentials {
    token
    webhookSecret
    bot {
      user {
        id
        username
        displayName
      }
    }
  }
`);

const MyBotsQuery = graphql(`
  query MyBots {
    myBots {
      webhookUrl
      createdAt
      lastUsedAt
      user {
        id
        username
        displayName
      }
    }
  }
`);

const CreateBotMutation = graphql(`
  mutation CreateBot($input: CreateBotInput!) {
    createBot(input: $input) {
      ...BotCredentialsFields
    }
  }
`);

const RotateBotTokenMutation = graphql(`
  mutation RotateBotToken($botId: ID!) {
    rotateBotToken(botId: $botId) {
      ...BotCredentialsFields
    }
  }
`);

const DeleteBotMutation = graphql(`
  mutation DeleteBot($botId: ID!) {
    deleteBot(botId: $botId)
  }
`);

type Bot = MyBotsQuery['myBots'][number];

/** A secret shown once, with a button that copies it. */
function SecretField({ label, value }: { label: string; value: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  };
  return (
    <div className="field">
      <span>{label}</span>
      <div className="secret-row">
        <input readOnly value={value} aria-label={label} onFocus={(event) => event.target.select()} />
        <button type="button" className="button small" onClick={() => void copy()}>
          {copied ? 'Copied' : `Copy ${label.toLowerCase()}`}
        </button>
      </div>
    </div>
  );
}

export function BotsPanel({ onClose }: { onClose(): void }) {
  const client = useClient();
  const [bots, setBots] = useState<Bot[] | null>(null);
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [webhookUrl, setWebhookUrl] = useState('');
  const [shown, setShown] = useState<BotCredentialsFieldsFragment | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    const result = await client.query(MyBotsQuery, {}, { requestPolicy: 'network-only' }).toPromise();
    if (result.error) setError(describeError(result.error));
    else setBots(result.data?.myBots ?? []);
  }, [client]);

  useEffect(() => {
    void load();
  }, [load]);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const input = {
      username: username.trim(),
      displayName: displayName.trim() || null,
      webhookUrl: webhookUrl.trim() || null,
    };
    const result = await client.mutation(CreateBotMutation, { input }).toPromise();
    setBusy(false);
    if (result.error || !result.data) return setError(result.error ? describeError(result.error) : 'Not created.');
    setShown(result.data.createBot);
    setUsername('');
    setDisplayName('');
    setWebhookUrl('');
    await load();
  };

  const rotate = async (bot: Bot) => {
    if (!window.confirm(`Replace ${bot.user.displayName}'s token? The current one stops working at once.`)) return;
    setError(null);
    const result = await client.mutation(RotateBotTokenMutation, { botId: bot.user.id }).toPromise();
    if (result.error || !result.data) return setError(result.error ? describeError(result.error) : 'Not rotated.');
    setShown(result.data.rotateBotToken);
  };

  const remove = async (bot: Bot) => {
    if (!window.confirm(`Delete ${bot.user.displayName}? It leaves its groups and its token stops working.`)) return;
    setError(null);
    const result = await client.mutation(DeleteBotMutation, { botId: bot.user.id }).toPromise();
    if (result.error) return setError(describeError(result.error));
    if (shown?.bot.user.id === bot.user.id) setShown(null);
    await load();
  };

  return (
    <section className="new-conversation bots-panel" aria-labelledby="bots-title">
      <div className="panel-header">
        <h2 id="bots-title">Bots</h2>
        <button type="button" className="button ghost small" onClick={onClose}>
          Close bots
        </button>
      </div>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {shown && (
        <div className="bot-credentials" role="status" aria-label="New bot credentials">
          <p className="hint">
            Copy these now for <strong>{shown.bot.user.displayName}</strong>: they are shown only once.
          </p>
          <SecretField label="Token" value={shown.token} />
          {shown.webhookSecret && <SecretField label="Webhook secret" value={shown.webhookSecret} />}
          <button type="button" className="button ghost small" onClick={() => setShown(null)}>
            Done, hide them
          </button>
        </div>
      )}
      <form className="group-form" onSubmit={create}>
        <label className="field">
          <span>Bot username</span>
          <input
            value={username}
            required
            pattern="[A-Za-z0-9_]{3,32}"
            onChange={(event) => setUsername(event.target.value)}
          />
        </label>
        <label className="field">
          <span>Bot display name</span>
          <input value={displayName} maxLength={64} onChange={(event) => setDisplayName(event.target.value)} />
        </label>
        <label className="field">
          <span>Webhook URL (optional)</span>
          <input
            type="url"
            value={webhookUrl}
            placeholder="https://example.com/hook"
            onChange={(event) => setWebhookUrl(event.target.value)}
          />
        </label>
        <button type="submit" className="button small" disabled={busy || username.trim().length < 3}>
          Create bot
        </button>
      </form>
      {bots && bots.length === 0 && <p className="hint">You have no bots yet.</p>}
      {bots && bots.length > 0 && (
        <ul className="member-list" aria-label="Your bots">
          {bots.map((bot) => (
            <li key={bot.user.id} className="member bot-item">
              <span className="user-display">
                {bot.user.displayName} <BotBadge />
                <span className="hint">
                  {' '}
                  @{bot.user.username}
                  {bot.webhookUrl ? ` → ${bot.webhookUrl}` : ''}
                  {bot.lastUsedAt ? ` · used ${formatShort(bot.lastUsedAt)}` : ' · never used'}
                </span>
              </span>
              <button type="button" className="button ghost small" onClick={() => void rotate(bot)}>
                Rotate token of {bot.user.displayName}
              </button>
              <button type="button" className="button ghost small" onClick={() => void remove(bot)}>
                Delete {bot.user.displayName}
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** The "bot" badge next to a bot's name. */
export function BotBadge() {
  return (
    <span className="bot-badge" title="This account is a bot">
      bot
    </span>
  );
}
