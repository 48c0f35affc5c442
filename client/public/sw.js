// The service worker (issue #13): shows a notification for each Web Push the
// server sends ({type, conversationId, messageId, title, body}, see
// contract/push.graphql) and, on click, focuses an open window of the app on
// that conversation or opens one. Plain JavaScript in public/, so it is served
// as /sw.js at the root and controls the whole origin.
/* global self, URL */

self.addEventListener('push', (event) => {
  let payload = null;
  try {
    payload = event.data ? event.data.json() : null;
  } catch {
    payload = null;
  }
  if (!payload || payload.type !== 'message') return;
  event.waitUntil(
    self.registration.showNotification(payload.title, {
      // The server may withhold the text (PUSH_PREVIEW=false).
      body: payload.body ?? 'New message',
      // One notification per conversation: a newer message replaces the older one.
      tag: `conversation:${payload.conversationId}`,
      icon: '/favicon.svg',
      data: { conversationId: payload.conversationId, messageId: payload.messageId },
    }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const conversationId = event.notification.data?.conversationId;
  const path = conversationId ? `/#/c/${encodeURIComponent(conversationId)}` : '/';
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      const open = windows.find((client) => new URL(client.url).origin === self.location.origin);
      if (open) {
        await open.focus();
        open.postMessage({ type: 'open-conversation', conversationId });
        return;
      }
      await self.clients.openWindow(path);
    })(),
  );
});
