// One topic fanned out to this instance's listeners: one bus subscription per
// instance, however many subscribers listen.
import type { Logger } from '../logger.js';
import type { Bus } from './pubsub.js';
import type { Topic, Topics } from './topics.js';

export class Broadcast<T extends Topic> {
  private readonly listeners = new Set<(payload: Topics[T]) => void>();

  constructor(
    private readonly bus: Bus,
    private readonly topic: T,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await this.bus.subscribe(this.topic, (payload) => {
      for (const listener of this.listeners) {
        // A listener that throws must not deprive the others, nor escape into the pub/sub client.
        try {
          listener(payload);
        } catch (error) {
          this.logger.error({ err: error, topic: this.topic }, 'broadcast listener failed');
        }
      }
    });
  }

  publish(payload: Topics[T]): Promise<void> {
    return this.bus.publish(this.topic, payload);
  }

  listen(listener: (payload: Topics[T]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
