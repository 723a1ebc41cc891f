// Sign-in: POST /v1/session {email, password}. The server sets the HttpOnly session cookie
// and answers with the user, the account and the CSRF token for later changes.
import { api, describe } from './api.js';
import { h, field, alertBox } from './ui.js';

export function renderSignIn(main, onSignedIn) {
  const error = h('div', { id: 'signin-error' });
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true, autofocus: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h('form', { class: 'panel', novalidate: true },
    h('h1', {}, 'Sign in'),
    h('p', { class: 'muted' }, 'Staff of a business sign in here to see and manage SMS consent.'),
    error,
    field('Email', email),
    field('Password', password),
    button);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.replaceChildren();
    if (!email.value.trim() || !password.value) {
      error.append(alertBox('error', null, 'Enter your email and password.'));
      (email.value.trim() ? password : email).focus();
      return;
    }
    button.disabled = true;
    button.textContent = 'Signing in…';
    try {
      const session = await api('POST', '/v1/session', { body: { email: email.value.trim(), password: password.value } });
      onSignedIn(session);
    } catch (e) {
      const text = e.status === 401 ? 'The email or password is not correct.' : describe(e);
      error.append(alertBox('error', null, text));
      password.value = '';
      password.focus();
    } finally {
      button.disabled = false;
      button.textContent = 'Sign in';
    }
  });
  main.append(h('div', { class: 'signin' },
    h('div', { class: 'brand' }, h('img', { src: 'favicon.svg', alt: '', width: 28, height: 28 }), 'smsconsent'),
    form));
  email.focus();
}
