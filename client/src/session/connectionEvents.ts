// Fans the api's socket events (connected, closed, forbidden) out to every part of the session that listens.

/** Fans the api's connection events out to whoever listens (the session, the banner). */
export type ConnectionEvents = {
  listen(listener: { connected(wasRetry: boolean): void; closed(): void; forbidden(): void }): () => void;
  emit: {
    connected(wasRetry: boolean): void;
    closed(): void;
    forbidden(): void;
  };
};

export function createConnectionEvents(): ConnectionEvents {
  type Listener = Parameters<ConnectionEvents['listen']>[0];
  const listeners = new Set<Listener>();
  return {
    listen(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit: {
      connected: (wasRetry) => listeners.forEach((listener) => listener.connected(wasRetry)),
      closed: () => listeners.forEach((listener) => listener.closed()),
      forbidden: () => listeners.forEach((listener) => listener.forbidden()),
    },
  };
}
