// The viewer's account: display name, password, logging out here or
// everywhere (the server revokes the session, so every socket of it closes).
import type { Client } from '@urql/core';
import { useMemo } from 'react';
import { graphql } from '../gql/index.js';
import { describeError } from '../lib/errors.js';
import type { User } from '../lib/conversations.js';
import type { ActionResult } from './actionResult.js';
import type { CheckAuth } from './sessionToken.js';

const UpdateProfileMutation = graphql(`
  mutation UpdateProfile($displayName: String!) {
    updateProfile(displayName: $displayName) {
      ...UserFields
    }
  }
`);

const ChangePasswordMutation = graphql(`
  mutation ChangePassword($currentPassword: String!, $newPassword: String!) {
    changePassword(currentPassword: $currentPassword, newPassword: $newPassword) {
      token
    }
  }
`);

const LogOutMutation = graphql(`
  mutation LogOut {
    logOut
  }
`);

const LogOutEverywhereMutation = graphql(`
  mutation LogOutEverywhere {
    logOutEverywhere
  }
`);

export type AccountActions = {
  updateProfile(displayName: string): Promise<ActionResult<User>>;
  /** Returns the new session's token; every other session ends. */
  changePassword(currentPassword: string, newPassword: string): Promise<ActionResult<string>>;
  /** Ends this session on the server (whatever the answer, the caller forgets the token). */
  logOut(): Promise<void>;
  logOutEverywhere(): Promise<ActionResult>;
};

export function useAccount(client: Client, checkAuth: CheckAuth): AccountActions {
  return useMemo<AccountActions>(
    () => ({
      async updateProfile(displayName) {
        const result = await client.mutation(UpdateProfileMutation, { displayName }).toPromise();
        if (result.data) return { ok: true, value: result.data.updateProfile };
        checkAuth(result.error);
        return { ok: false, error: result.error ? describeError(result.error) : 'Could not save.' };
      },
      async changePassword(currentPassword, newPassword) {
        const result = await client.mutation(ChangePasswordMutation, { currentPassword, newPassword }).toPromise();
        if (result.data) return { ok: true, value: result.data.changePassword.token };
        // A wrong current password names its field; the token itself is still good.
        if (result.error?.graphQLErrors[0]?.extensions?.field === 'currentPassword') {
          return { ok: false, error: 'The current password is wrong.' };
        }
        checkAuth(result.error);
        return { ok: false, error: result.error ? describeError(result.error) : 'Could not change the password.' };
      },
      async logOut() {
        await client.mutation(LogOutMutation, {}).toPromise();
      },
      async logOutEverywhere() {
        const result = await client.mutation(LogOutEverywhereMutation, {}).toPromise();
        if (result.data) return { ok: true, value: undefined };
        checkAuth(result.error);
        return { ok: false, error: result.error ? describeError(result.error) : 'Could not log out everywhere.' };
      },
    }),
    [client, checkAuth],
  );
}
