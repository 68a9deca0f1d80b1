/** Reports a message's deliveries and outcomes to a {@link DeliveryObserver} (metrics). */
import type { JsMsg } from 'nats';
import type { DeliveryObserver } from '../metrics/observers.js';

/**
 * The message as it is, but counting its acks and naks; `delivered` is reported at once and
 * `handled` when `done` settles.
 */
export function observeDelivery(msg: JsMsg, observer: DeliveryObserver): { msg: JsMsg; settled: (done: Promise<void>) => void } {
  observer.delivered(msg.info.redelivered);
  const started = performance.now();
  const wrapped = new Proxy(msg, {
    get(target, prop) {
      if (prop === 'ack') {
        return () => {
          observer.acked();
          target.ack();
        };
      }
      if (prop === 'nak') {
        return (millis?: number) => {
          observer.naked();
          target.nak(millis);
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return {
    msg: wrapped,
    settled: (done) => void done.finally(() => observer.handled((performance.now() - started) / 1000)),
  };
}
