// A small GraphQL-over-HTTP client for tests, and helpers for common set-up.
import { randomBytes } from 'node:crypto';
import { decodeGlobalID } from '@pothos/plugin-relay';

export type GraphQLError = { message: string; path?: string[]; extensions?: { code?: string; [key: string]: unknown } };
export type GraphQLResponse<T = any> = { data?: T | null; errors?: GraphQLError[] };

/** The database id inside a global ID. */
export const numericId = (globalId: string): number => Number(decodeGlobalID(globalId).id);

export async function gql<T = any>(
  graphqlUrl: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<GraphQLResponse<T>> {
  const response = await fetch(graphqlUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as GraphQLResponse<T>;
}

/** The data of a response that must have no errors. */
export async function data<T = any>(
  graphqlUrl: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<T> {
  const response = await gql<T>(graphqlUrl, query, variables, token);
  if (response.errors?.length) throw new Error(`unexpected errors: ${JSON.stringify(response.errors)}`);
  return response.data as T;
}

/** The extensions.code of a response's first error (undefined when it succeeded). */
export function errorCode(response: GraphQLResponse): string | undefined {
  return response.errors?.[0]?.extensions?.code;
}

export type TestUser = { id: string; username: string; token: string };

export function uniqueName(prefix = 'user'): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

export async function signUp(
  graphqlUrl: string,
  username = uniqueName(),
  password = 'correct horse battery',
): Promise<TestUser> {
  const result = await data(
    graphqlUrl,
    'mutation ($input: SignUpInput!) { signUp(input: $input) { token user { id username } } }',
    { input: { username, password } },
  );
  return { id: result.signUp.user.id, username: result.signUp.user.username, token: result.signUp.token };
}

export async function openDirect(graphqlUrl: string, user: TestUser, other: TestUser): Promise<string> {
  const result = await data(
    graphqlUrl,
    'mutation ($userId: ID!) { openDirectConversation(userId: $userId) { id } }',
    { userId: other.id },
    user.token,
  );
  return result.openDirectConversation.id;
}

export async function createGroup(
  graphqlUrl: string,
  owner: TestUser,
  members: TestUser[],
  title = 'A group',
): Promise<string> {
  const result = await data(
    graphqlUrl,
    'mutation ($input: CreateGroupInput!) { createGroupConversation(input: $input) { id } }',
    { input: { title, memberIds: members.map((member) => member.id) } },
    owner.token,
  );
  return result.createGroupConversation.id;
}

export async function send(
  graphqlUrl: string,
  user: TestUser,
  conversationId: string,
  body: string,
  clientMessageId?: string,
): Promise<{ id: string; body: string }> {
  const result = await data(
    graphqlUrl,
    'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id body } }',
    { input: { conversationId, body, clientMessageId } },
    user.token,
  );
  return result.sendMessage;
}

/** Every message of a conversation, oldest first, read in pages of 100 with first/after. */
export async function readHistory<T = { id: string; body: string | null; clientMessageId: string | null }>(
  graphqlUrl: string,
  user: TestUser,
  conversationId: string,
  fields = 'id body clientMessageId',
): Promise<T[]> {
  const query = `query ($id: ID!, $after: String) {
    messages(conversationId: $id, first: 100, after: $after) { edges { node { ${fields} } } pageInfo { hasNextPage endCursor } }
  }`;
  const messages: T[] = [];
  let after: string | null = null;
  for (;;) {
    const page: any = (await data(graphqlUrl, query, { id: conversationId, after }, user.token)).messages;
    messages.push(...page.edges.map((edge: any) => edge.node));
    if (!page.pageInfo.hasNextPage) return messages;
    after = page.pageInfo.endCursor;
  }
}
