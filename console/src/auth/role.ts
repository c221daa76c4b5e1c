// Who is logged in and what the role allows. The server enforces the roles (403
// FORBIDDEN_ROLE); the console only hides what the role cannot do, from `/api/v1/me`.
import { useQuery } from '@tanstack/react-query';
import { meQuery } from '../api/session';
import type { Me, Role } from '../api/types';

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** Whether `role` includes `needed` (viewer < operator < admin). */
export function roleAllows(role: Role | undefined, needed: Role): boolean {
  return role !== undefined && RANK[role] >= RANK[needed];
}


/** The logged-in user (undefined while loading). */
export function useMe(): Me | undefined {
  return useQuery(meQuery).data;
}

/** `can('operator')`: whether the logged-in user may do what needs that role. */
export function useCan(): (needed: Role) => boolean {
  const me = useMe();
  return (needed) => roleAllows(me?.role, needed);
}
