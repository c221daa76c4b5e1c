// The session: who is logged in, logging in and out, the own password.
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
 * Logs out; whatever the answer, nothing cached stays for the next user. The cache is
 * cleared and `leave` called in one go: a page still shown after the clear would ask
 * for `/me` again at once and send the login page where it was.
 */
export function useLogout(leave: () => void) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => del('/session').catch(() => undefined),
    onSettled: () => {
      queryClient.clear();
      leave();
    },
  });
}

export function useChangePassword() {
  return useMutation({
    mutationFn: (values: { current_password: string; new_password: string }) => put('/me/password', values),
  });
}
