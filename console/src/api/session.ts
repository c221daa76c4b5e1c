// The session: who is logged in, logging in and out, the own password.
import { useEffect } from 'react';
import { queryOptions, useMutation, useQueryClient } from '@tanstack/react-query';
import { del, get, post, put } from './client';
import type { Me } from './types';

export const sessionKeys = {
  me: ['me'] as const,
};

export const meQuery = queryOptions({ queryKey: sessionKeys.me, queryFn: () => get<Me>('/me'), retry: false });

export function useLogin() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (values: { username: string; password: string }) => post('/session', values),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: sessionKeys.me }),
  });
}

/**
 * Logs out and calls `leave` (to the login page), whatever the answer. The cache is not
 * touched here: cleared while the shell is still shown, it would ask for `/me` again at
 * once and send the login page back to where it was. The login page forgets it instead.
 */
export function useLogout(leave: () => void) {
  return useMutation({ mutationFn: () => del('/session').catch(() => undefined), onSettled: leave });
}

/** On the login page: nothing cached of the last session stays for the next user. */
export function useForgetSession() {
  const queryClient = useQueryClient();
  useEffect(() => queryClient.clear(), [queryClient]);
}

export function useChangePassword() {
  return useMutation({
    mutationFn: (values: { current_password: string; new_password: string }) => put('/me/password', values),
  });
}
