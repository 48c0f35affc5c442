// Uploads for the composer: one GraphQL multipart request per file (the
// GraphQL multipart request spec), sent with XMLHttpRequest because fetch
// reports no upload progress.
import { loadToken } from './auth.js';

export type UploadedAttachment = {
  id: string;
  kind: 'IMAGE' | 'FILE';
  filename: string;
  contentType: string;
  byteSize: number;
  width: number | null;
  height: number | null;
  url: string;
  thumbnailUrl: string | null;
};

const UPLOAD = `mutation UploadAttachment($conversationId: ID!, $file: File!) {
  uploadAttachment(conversationId: $conversationId, file: $file) {
    id kind filename contentType byteSize width height url thumbnailUrl
  }
}`;

/** 1536 -> "1.5 KB", 26214400 -> "25 MB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 10 || Number.isInteger(value) ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

type ErrorBody = { errors?: { message: string; extensions?: { code?: string; maxBytes?: number } }[] };

/** What to tell the person when an upload is refused. */
export function describeUploadError(filename: string, body: ErrorBody | null, status: number): string {
  const error = body?.errors?.[0];
  if (error?.extensions?.code === 'PAYLOAD_TOO_LARGE') {
    const max = error.extensions.maxBytes;
    return `${filename} is too large${typeof max === 'number' ? ` (the limit is ${formatBytes(max)})` : ''}.`;
  }
  if (error) return `${filename} was refused: ${error.message}`;
  if (status === 0) return `${filename} could not be sent: no connection.`;
  return `${filename} could not be sent (error ${status}).`;
}

function parseJson<T>(text: string): T | null {
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

export type UploadHandle = { promise: Promise<UploadedAttachment>; abort(): void };

export function uploadFile(conversationId: string, file: File, onProgress: (fraction: number) => void): UploadHandle {
  const request = new XMLHttpRequest();
  const promise = new Promise<UploadedAttachment>((resolve, reject) => {
    const form = new FormData();
    form.set('operations', JSON.stringify({ query: UPLOAD, variables: { conversationId, file: null } }));
    form.set('map', JSON.stringify({ 0: ['variables.file'] }));
    form.set('0', file, file.name);
    request.open('POST', '/graphql');
    request.setRequestHeader('GraphQL-Require-Preflight', '1');
    const token = loadToken(localStorage);
    if (token) request.setRequestHeader('Authorization', `Bearer ${token}`);
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    request.onload = () => {
      type Answer = ErrorBody & { data?: { uploadAttachment?: UploadedAttachment } };
      const body = parseJson<Answer>(request.responseText);
      const uploaded = body?.data?.uploadAttachment;
      if (uploaded && !body?.errors?.length) {
        onProgress(1);
        resolve(uploaded);
      } else reject(new Error(describeUploadError(file.name, body, request.status)));
    };
    request.onerror = () => reject(new Error(describeUploadError(file.name, null, 0)));
    request.onabort = () => reject(new Error(`${file.name}: upload cancelled.`));
    request.send(form);
  });
  return { promise, abort: () => request.abort() };
}
