// Running a group and blocking: rename, add, remove, roles, leave; block and
// unblock the other member of a DIRECT conversation. Each reply updates the
// list at once; conversationEvents bring the same to every other member.
import type { Client } from '@urql/core';
import { type Dispatch, useMemo } from 'react';
import { graphql } from '../gql/index.js';
import type { ChatAction } from '../lib/chatState.js';
import { describeError } from '../lib/errors.js';
import type { ActionResult } from './actionResult.js';
import type { CheckAuth } from './sessionToken.js';

const RenameMutation = graphql(`
  mutation RenameConversation($conversationId: ID!, $title: String!) {
    renameConversation(conversationId: $conversationId, title: $title) {
      ...ConversationFields
    }
  }
`);

const AddMembersMutation = graphql(`
  mutation AddMembers($conversationId: ID!, $userIds: [ID!]!) {
    addMembers(conversationId: $conversationId, userIds: $userIds) {
      ...ConversationFields
    }
  }
`);

const RemoveMemberMutation = graphql(`
  mutation RemoveMember($conversationId: ID!, $userId: ID!) {
    removeMember(conversationId: $conversationId, userId: $userId) {
      ...ConversationFields
    }
  }
`);

const SetMemberRoleMutation = graphql(`
  mutation SetMemberRole($conversationId: ID!, $userId: ID!, $role: MemberRole!) {
    setMemberRole(conversationId: $conversationId, userId: $userId, role: $role) {
      ...ConversationFields
    }
  }
`);

const LeaveMutation = graphql(`
  mutation LeaveConversation($conversationId: ID!) {
    leaveConversation(conversationId: $conversationId)
  }
`);

const BlockMutation = graphql(`
  mutation BlockUser($userId: ID!) {
    blockUser(userId: $userId) {
      id
      blockedByMe
    }
  }
`);

const UnblockMutation = graphql(`
  mutation UnblockUser($userId: ID!) {
    unblockUser(userId: $userId) {
      id
      blockedByMe
    }
  }
`);

const BlockedQuery = graphql(`
  query Blocked($userId: ID!) {
    user(id: $userId) {
      id
      blockedByMe
    }
  }
`);

export type GroupAdminActions = {
  renameGroup(conversationId: string, title: string): Promise<ActionResult>;
  addMembers(conversationId: string, userIds: string[]): Promise<ActionResult>;
  removeMember(conversationId: string, userId: string): Promise<ActionResult>;
  setMemberRole(conversationId: string, userId: string, role: 'ADMIN' | 'MEMBER'): Promise<ActionResult>;
  leaveGroup(conversationId: string): Promise<ActionResult>;
  /** Whether the viewer has blocked the user. */
  isBlocked(userId: string): Promise<ActionResult<boolean>>;
  setBlocked(userId: string, blocked: boolean): Promise<ActionResult<boolean>>;
};

type Reply<T> = { data?: T; error?: Parameters<typeof describeError>[0] };

export function useGroupAdmin(client: Client, dispatch: Dispatch<ChatAction>, checkAuth: CheckAuth): GroupAdminActions {
  return useMemo<GroupAdminActions>(() => {
    /** Runs a mutation; on success hands its value to `apply`. */
    const run = async <T, R>(reply: Promise<Reply<T>>, pick: (data: T) => R): Promise<ActionResult<R>> => {
      const { data, error } = await reply;
      if (data) return { ok: true, value: pick(data) };
      checkAuth(error);
      return { ok: false, error: error ? describeError(error) : 'Something went wrong. Try again.' };
    };
    const changed = <T>(reply: Promise<Reply<T>>, conversationOf: (data: T) => ChatActionConversation) =>
      run(reply, (data) => dispatch({ type: 'conversationChanged', conversation: conversationOf(data) }));
    return {
      renameGroup: (conversationId, title) =>
        changed(client.mutation(RenameMutation, { conversationId, title }).toPromise(), (d) => d.renameConversation),
      addMembers: (conversationId, userIds) =>
        changed(client.mutation(AddMembersMutation, { conversationId, userIds }).toPromise(), (d) => d.addMembers),
      removeMember: (conversationId, userId) =>
        changed(client.mutation(RemoveMemberMutation, { conversationId, userId }).toPromise(), (d) => d.removeMember),
      setMemberRole: (conversationId, userId, role) =>
        changed(
          client.mutation(SetMemberRoleMutation, { conversationId, userId, role }).toPromise(),
          (d) => d.setMemberRole,
        ),
      leaveGroup: (conversationId) =>
        run(client.mutation(LeaveMutation, { conversationId }).toPromise(), () =>
          dispatch({ type: 'conversationLeft', conversationId }),
        ),
      isBlocked: (userId) =>
        run(client.query(BlockedQuery, { userId }).toPromise(), (d) => d.user?.blockedByMe ?? false),
      setBlocked: (userId, blocked) =>
        blocked
          ? run(client.mutation(BlockMutation, { userId }).toPromise(), (d) => d.blockUser.blockedByMe)
          : run(client.mutation(UnblockMutation, { userId }).toPromise(), (d) => d.unblockUser.blockedByMe),
    };
  }, [client, dispatch, checkAuth]);
}

type ChatActionConversation = Extract<ChatAction, { type: 'conversationChanged' }>['conversation'];
