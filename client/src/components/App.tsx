// Logged out: the login view. Logged in: the chat, for exactly one token;
// when the server stops accepting it the user is sent back to log in.
import { useCallback, useEffect, useState } from 'react';
import { clearToken, loadToken, saveToken } from '../lib/auth.js';
import { ChatApp } from './ChatApp.js';
import { LoginView } from './LoginView.js';

const TOKEN_STORAGE_KEY = 'chat.token';

export function App() {
  const [token, setToken] = useState(() => loadToken(localStorage));
  const [notice, setNotice] = useState<string | null>(null);
  /** One per login: the chat starts over for a new login, not for a refreshed token. */
  const [login, setLogin] = useState(0);

  const logIn = useCallback((fresh: string) => {
    saveToken(localStorage, fresh);
    setNotice(null);
    setToken(fresh);
    setLogin((count) => count + 1);
  }, []);

  const tokenRefreshed = useCallback((fresh: string) => {
    saveToken(localStorage, fresh);
    setToken(fresh);
  }, []);

  const sessionEnded = useCallback(() => {
    clearToken(localStorage);
    setToken(null);
    setNotice('Your session has expired. Log in again.');
  }, []);

  const logOut = useCallback(() => {
    clearToken(localStorage);
    setToken(null);
    setNotice(null);
  }, []);

  // Logging in or out in another tab does the same here.
  useEffect(() => {
    const onStorage = (event: StorageEvent) => {
      if (event.key === TOKEN_STORAGE_KEY || event.key === null) {
        setToken(loadToken(localStorage));
        setLogin((count) => count + 1);
      }
    };
    window.addEventListener('storage', onStorage);
    return () => window.removeEventListener('storage', onStorage);
  }, []);

  if (!token) return <LoginView onAuthenticated={logIn} notice={notice} />;
  return (
    <ChatApp
      key={login}
      token={token}
      onSessionEnded={sessionEnded}
      onLogOut={logOut}
      onTokenRefreshed={tokenRefreshed}
      onNewSession={logIn}
    />
  );
}
