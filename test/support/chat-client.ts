import { io, type Socket } from 'socket.io-client';

export interface AckError {
  code: string;
  message: string;
}

/** A /chat socket.io client, as the consoles use it. */
export class ChatClient {
  readonly received: Record<string, unknown[]> = {};

  private constructor(readonly socket: Socket) {
    socket.onAny((event: string, payload: unknown) => (this.received[event] ??= []).push(payload));
  }

  static async connect(baseUrl: string, token: string, options: { headers?: Record<string, string>; locale?: string } = {}): Promise<ChatClient> {
    const socket = io(`${baseUrl}/chat`, {
      auth: options.locale ? { token, locale: options.locale } : { token },
      extraHeaders: options.headers,
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    // 'ready' follows the connection once the socket is in its rooms (queue, assignments).
    await new Promise<void>((resolve, reject) => {
      socket.once('ready', () => resolve());
      socket.once('connect_error', reject);
    });
    return new ChatClient(socket);
  }

  /** Emits with an acknowledgement; resolves with the result, rejects with `{ code, message }`. */
  async call<T = Record<string, unknown>>(event: string, payload: unknown = {}): Promise<T> {
    const answer = (await this.socket.timeout(10_000).emitWithAck(event, payload)) as { error?: AckError } & T;
    if (answer && typeof answer === 'object' && 'error' in answer && answer.error) throw Object.assign(new Error(answer.error.message), answer.error);
    return answer;
  }

  /** Resolves with the next `event` matching `predicate` (or one already received). */
  next<T = Record<string, unknown>>(event: string, predicate: (payload: T) => boolean = () => true, timeoutMs = 5000): Promise<T> {
    const seen = (this.received[event] ?? []) as T[];
    const already = seen.find(predicate);
    if (already) return Promise.resolve(already);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.socket.off(event, listener);
        reject(new Error(`no ${event} within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (payload: T) => {
        if (!predicate(payload)) return;
        clearTimeout(timer);
        this.socket.off(event, listener);
        resolve(payload);
      };
      this.socket.on(event, listener);
    });
  }

  /** Resolves once `condition` holds for what this client has received. */
  async until(condition: (received: Record<string, unknown[]>) => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition(this.received)) {
      if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  close(): void {
    this.socket.close();
  }
}
