// Tags: the list and its changes. A tag's name shows on projects, so changes refresh them too.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { del, get, post, put } from './client';
import { projectKeys } from './projects';
import type { List, Tag } from './types';

export const tagKeys = {
  all: ['tags'] as const,
  list: () => [...tagKeys.all, 'list'] as const,
};

export function useTags() {
  return useQuery({ queryKey: tagKeys.list(), queryFn: () => get<List<Tag>>('/tags') });
}

function useInvalidateTags() {
  const queryClient = useQueryClient();
  return async () => {
    await queryClient.invalidateQueries({ queryKey: tagKeys.all });
    await queryClient.invalidateQueries({ queryKey: projectKeys.all });
  };
}

/** Creates (`id` null) or renames a tag. */
export function useSaveTag() {
  const invalidate = useInvalidateTags();
  return useMutation({
    mutationFn: ({ id, name }: { id: string | null; name: string }) => (id ? put<Tag>(`/tags/${id}`, { name }) : post<Tag>('/tags', { name })),
    onSuccess: invalidate,
  });
}

export function useDeleteTag() {
  const invalidate = useInvalidateTags();
  return useMutation({ mutationFn: (id: string) => del(`/tags/${id}`), onSuccess: invalidate });
}
