// The model behind the assistant: any OpenAI-compatible chat-completions
// endpoint (Ollama, vLLM, llama.cpp's server, hosted APIs), spoken through the
// official `openai` client with streaming. No tools are ever offered.
import OpenAI, { APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { AssistantConfig } from '../config.js';
import type { ChatTurn } from './prompt.js';

export type Usage = { promptTokens: number; completionTokens: number };

/** How a stream ended, besides the text it delivered through onText. */
export type StreamEnd =
  | { kind: 'finished'; finishReason: string; usage: Usage | null }
  /** Aborted through the caller's signal; its reason says why. */
  | { kind: 'aborted'; reason: unknown; usage: null }
  /** The model stayed silent longer than AI_TIMEOUT. */
  | { kind: 'timeout'; usage: null }
  /** The connection ended before the model said it had finished. */
  | { kind: 'cut'; usage: null }
  | { kind: 'error'; status: number | null; message: string; usage: null };

const TIMED_OUT = Symbol('model timed out');
/** The longest one answer may take in all, however steadily tokens arrive. */
const MAX_ANSWER_MS = 10 * 60_000;

export class Model {
  private readonly client: OpenAI;

  constructor(private readonly config: AssistantConfig) {
    this.client = new OpenAI({
      baseURL: config.baseUrl,
      // Local servers (Ollama, llama.cpp) need none; the client refuses to start without one.
      apiKey: config.apiKey ?? 'none',
      // Given, so the client reads none of its OPENAI_* variables: settings come from config.ts only.
      adminAPIKey: null,
      organization: null,
      project: null,
      webhookSecret: null,
      // Failures are reported by the runner through the app's logger, without the client's console output.
      logLevel: 'off',
      // A failed answer is reported in the chat; asking again is the user's call (and counts against the limits).
      maxRetries: 0,
      // The client's timeout spans the whole streamed answer; AI_TIMEOUT (each silence) is enforced below.
      timeout: MAX_ANSWER_MS,
    });
  }

  /**
   * Streams one answer, handing each piece of text to `onText` as it arrives.
   * Never throws: every way the request can end is a StreamEnd.
   */
  async stream(messages: ChatTurn[], signal: AbortSignal, onText: (text: string) => void): Promise<StreamEnd> {
    // AI_TIMEOUT bounds each silence (before the first token and between two), not the whole answer.
    const silence = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const armTimer = () => {
      clearTimeout(timer);
      timer = setTimeout(() => silence.abort(TIMED_OUT), this.config.timeoutMs);
    };
    const combined = AbortSignal.any([signal, silence.signal]);
    armTimer();
    let finishReason: string | null = null;
    let usage: Usage | null = null;
    try {
      const stream = await this.client.chat.completions.create(
        {
          model: this.config.model,
          messages,
          stream: true,
          stream_options: { include_usage: true },
          max_tokens: this.config.maxOutputTokens,
        },
        { signal: combined },
      );
      for await (const chunk of stream) {
        armTimer();
        if (chunk.usage) {
          usage = { promptTokens: chunk.usage.prompt_tokens, completionTokens: chunk.usage.completion_tokens };
        }
        const choice = chunk.choices[0];
        if (!choice) continue;
        if (choice.delta?.content) onText(choice.delta.content);
        if (choice.finish_reason) finishReason = choice.finish_reason;
      }
      // An abort may end the iteration quietly rather than throw.
      if (signal.aborted) return { kind: 'aborted', reason: signal.reason, usage: null };
      if (silence.signal.aborted) return { kind: 'timeout', usage: null };
      if (finishReason === null) return { kind: 'cut', usage: null };
      return { kind: 'finished', finishReason, usage };
    } catch (error) {
      if (signal.aborted) return { kind: 'aborted', reason: signal.reason, usage: null };
      if (silence.signal.aborted || error instanceof APIConnectionTimeoutError) return { kind: 'timeout', usage: null };
      if (error instanceof APIUserAbortError) return { kind: 'aborted', reason: signal.reason, usage: null };
      if (error instanceof APIError && error.status !== undefined) {
        return { kind: 'error', status: error.status, message: error.message, usage: null };
      }
      // A connection lost mid-stream ends the body with an error; one refused or reset before it, too.
      return finishReason === null && error instanceof Error && /terminated|aborted|socket/i.test(error.message)
        ? { kind: 'cut', usage: null }
        : { kind: 'error', status: null, message: (error as Error).message, usage: null };
    } finally {
      clearTimeout(timer);
    }
  }
}
