import { Client, fetchExchange } from '@urql/core';
import { type FormEvent, useMemo, useState } from 'react';
import { graphql } from '../gql/index.js';
import { GRAPHQL_PATH } from '../lib/api.js';
import { describeError, errorCode } from '../lib/errors.js';

const SignUpMutation = graphql(`
  mutation SignUp($input: SignUpInput!) {
    signUp(input: $input) {
      token
    }
  }
`);

const LogInMutation = graphql(`
  mutation LogIn($input: LogInInput!) {
    logIn(input: $input) {
      token
    }
  }
`);

type Props = { onAuthenticated(token: string): void; notice: string | null };

export function LoginView({ onAuthenticated, notice }: Props) {
  const client = useMemo(() => new Client({ url: GRAPHQL_PATH, exchanges: [fetchExchange] }), []);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (mode: 'logIn' | 'signUp') => {
    setBusy(true);
    setError(null);
    const input = { username: username.trim(), password };
    const result =
      mode === 'signUp'
        ? await client.mutation(SignUpMutation, { input }).toPromise()
        : await client.mutation(LogInMutation, { input }).toPromise();
    setBusy(false);
    const token = result.data && ('signUp' in result.data ? result.data.signUp.token : result.data.logIn.token);
    if (token) {
      onAuthenticated(token);
      return;
    }
    if (result.error && errorCode(result.error) === 'UNAUTHENTICATED') setError('Wrong username or password.');
    else if (result.error && errorCode(result.error) === 'CONFLICT')
      setError('That username is taken. Choose another.');
    else setError(result.error ? describeError(result.error) : 'Something went wrong. Try again.');
  };

  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const submitter = (event.nativeEvent as SubmitEvent).submitter as HTMLButtonElement | null;
    void submit(submitter?.value === 'signUp' ? 'signUp' : 'logIn');
  };

  return (
    <main className="login">
      <form className="login-card" onSubmit={onSubmit} aria-labelledby="login-title">
        <div className="login-brand" aria-hidden="true">
          <img src="/favicon.svg" alt="" width="40" height="40" />
        </div>
        <h1 id="login-title">Chat</h1>
        <p className="login-lead">Log in, or pick a username and password to sign up.</p>
        {notice && (
          <p className="login-notice" role="status">
            {notice}
          </p>
        )}
        <label className="field">
          <span>Username</span>
          <input
            name="username"
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            required
            value={username}
            onChange={(event) => setUsername(event.target.value)}
          />
        </label>
        <label className="field">
          <span>Password</span>
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(event) => setPassword(event.target.value)}
          />
        </label>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <div className="login-actions">
          <button type="submit" className="button primary" value="logIn" disabled={busy}>
            Log in
          </button>
          <button type="submit" className="button" value="signUp" disabled={busy}>
            Sign up
          </button>
        </div>
      </form>
    </main>
  );
}
