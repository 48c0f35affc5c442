// Web Push in the browser (issue #13): the service worker, the permission
// asked only when the user presses "Enable notifications", the subscription
// registered with the server, and unsubscribing on log out.
import type { Client } from '@urql/core';
import { graphql } from '../gql/index.js';

export const SERVICE_WORKER_URL = '/sw.js';

const PushConfigQuery = graphql(`
  query PushConfig {
    pushConfig {
      vapidPublicKey
    }
  }
`);

const RegisterPushSubscription = graphql(`
  mutation RegisterPushSubscription($input: PushSubscriptionInput!) {
    registerPushSubscription(input: $input)
  }
`);

const UnregisterPushSubscription = graphql(`
  mutation UnregisterPushSubscription($endpoint: String!) {
    unregisterPushSubscription(endpoint: $endpoint)
  }
`);

export type PushStatus = 'unsupported' | 'off' | 'on' | 'denied';

export function pushSupported(): boolean {
  return 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
}

/** Registers the service worker (no permission needed); null where there is none. */
export async function serviceWorker(): Promise<ServiceWorkerRegistration | null> {
  if (!('serviceWorker' in navigator)) return null;
  try {
    return await navigator.serviceWorker.register(SERVICE_WORKER_URL);
  } catch {
    return null;
  }
}

/** What the control shows before anything is pressed: never asks for permission. */
export async function currentPushStatus(): Promise<PushStatus> {
  if (!pushSupported()) return 'unsupported';
  if (Notification.permission === 'denied') return 'denied';
  const registration = await serviceWorker();
  const subscription = await registration?.pushManager.getSubscription();
  return subscription && Notification.permission === 'granted' ? 'on' : 'off';
}

/** Asks for permission, subscribes and registers; resolves with what to show, or rejects with a plain sentence. */
export async function enablePush(client: Client): Promise<PushStatus> {
  if (!pushSupported()) throw new Error('This browser does not support notifications.');
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') {
    throw new Error(
      permission === 'denied'
        ? "The browser blocked notifications for this site. Allow them in the browser's site settings."
        : 'Notifications were not allowed.',
    );
  }
  const registration = await serviceWorker();
  if (!registration) throw new Error('The browser refused to start the notification worker.');
  const config = await client.query(PushConfigQuery, {}, { requestPolicy: 'network-only' }).toPromise();
  const key = config.data?.pushConfig.vapidPublicKey;
  if (!key) throw new Error('Notifications are turned off on this server.');
  let subscription: PushSubscription;
  try {
    subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: base64urlToBytes(key),
    });
  } catch (error) {
    throw new Error(`The browser refused to subscribe to notifications (${(error as Error).message}).`, {
      cause: error,
    });
  }
  const json = subscription.toJSON();
  const result = await client
    .mutation(RegisterPushSubscription, {
      input: { endpoint: subscription.endpoint, p256dh: json.keys?.p256dh ?? '', auth: json.keys?.auth ?? '' },
    })
    .toPromise();
  if (!result.data?.registerPushSubscription) {
    await subscription.unsubscribe().catch(() => undefined);
    throw new Error(result.error?.graphQLErrors[0]?.message ?? 'The server could not turn notifications on.');
  }
  return 'on';
}

/** On log out: the server forgets the subscription and the browser drops it. Never throws. */
export async function disablePush(client: Client): Promise<void> {
  try {
    if (!('serviceWorker' in navigator)) return;
    const registration = await navigator.serviceWorker.getRegistration(SERVICE_WORKER_URL);
    const subscription = await registration?.pushManager.getSubscription();
    if (!subscription) return;
    await client.mutation(UnregisterPushSubscription, { endpoint: subscription.endpoint }).toPromise();
    await subscription.unsubscribe();
  } catch {
    // Logging out must not wait on push: the server forgets the endpoint when the service answers 410.
  }
}

/** Calls `open` when a notification click asks the already open window to show a conversation. */
export function onNotificationClick(open: (conversationId: string) => void): () => void {
  if (!('serviceWorker' in navigator)) return () => undefined;
  const listener = (event: MessageEvent) => {
    const data = event.data as { type?: string; conversationId?: string } | null;
    if (data?.type === 'open-conversation' && data.conversationId) open(data.conversationId);
  };
  navigator.serviceWorker.addEventListener('message', listener);
  return () => navigator.serviceWorker.removeEventListener('message', listener);
}

function base64urlToBytes(text: string): Uint8Array<ArrayBuffer> {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(binary, (character) => character.charCodeAt(0));
}
