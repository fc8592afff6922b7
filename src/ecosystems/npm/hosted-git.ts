/*
 * Git hosts npm knows by name (hosted-git-info 9, which npm 11's npm-package-arg and pacote use).
 * For a dependency on one of them locked at a full commit id, pacote does not clone: it fetches
 * the host's tarball of that commit over HTTPS (through its HTTP cache, so an offline cache can
 * hold it), unpacks it and packs the directory again. Any other git URL is cloned with git at
 * install time, whatever npm's cache holds.
 */

export type GitHost = 'github' | 'gitlab' | 'bitbucket';

interface HostRules {
  domain: string;
  /** The URL schemes hosted-git-info accepts for the host. */
  protocols: readonly string[];
  tarball: (user: string, project: string, commit: string) => string;
}

const HOSTS: Readonly<Record<GitHost, HostRules>> = {
  github: {
    domain: 'github.com',
    protocols: ['git:', 'http:', 'git+ssh:', 'git+https:', 'ssh:', 'https:'],
    tarball: (user, project, commit) => `https://codeload.github.com/${user}/${project}/tar.gz/${encodeURIComponent(commit)}`,
  },
  gitlab: {
    domain: 'gitlab.com',
    protocols: ['git+ssh:', 'git+https:', 'ssh:', 'https:'],
    tarball: (user, project, commit) =>
      `https://gitlab.com/api/v4/projects/${encodeURIComponent(`${user}/${project}`)}/repository/archive.tar.gz?sha=${encodeURIComponent(commit)}`,
  },
  bitbucket: {
    domain: 'bitbucket.org',
    protocols: ['git+ssh:', 'git+https:', 'ssh:', 'https:'],
    tarball: (user, project, commit) => `https://bitbucket.org/${user}/${project}/get/${encodeURIComponent(commit)}.tar.gz`,
  },
};

export interface HostedGitRepository {
  host: GitHost;
  /** The owner (GitLab: with its subgroups, `group/sub`). */
  user: string;
  project: string;
  /** What pacote clones first (`https://github.com/user/project.git`)… */
  httpsUrl: string;
  /** …and then, when that fails. */
  sshUrl: string;
  /** The URL pacote fetches the commit's tarball from (the key of npm's HTTP cache entry). */
  tarballUrl: (commit: string) => string;
}

/**
 * The hosted repository a git specifier or `resolved` URL (without its `#` fragment) names, as
 * hosted-git-info reads it: the `github:`/`gitlab:`/`bitbucket:` shortcuts, `git@host:user/repo`
 * and URLs whose scheme the host accepts; null for any other git URL.
 */
export function hostedGitRepository(spec: string): HostedGitRepository | null {
  const shortcut = /^(github|gitlab|bitbucket):([^#]+)$/.exec(spec);
  if (shortcut) return fromPath(shortcut[1] as GitHost, shortcut[2] as string);
  const scp = /^git@([^:/]+):([^#]+)$/.exec(spec);
  if (scp) {
    const host = hostOfDomain((scp[1] as string).toLowerCase());
    return host === null ? null : fromPath(host, scp[2] as string);
  }
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    return null;
  }
  const host = hostOfDomain(url.hostname.toLowerCase().replace(/^www\./, ''));
  if (host === null || !HOSTS[host].protocols.includes(url.protocol) || url.search !== '') return null;
  return fromPath(host, decodeURIComponent(url.pathname.replace(/^\//, '')));
}

function hostOfDomain(domain: string): GitHost | null {
  for (const host of Object.keys(HOSTS) as GitHost[]) if (HOSTS[host].domain === domain) return host;
  return null;
}

function fromPath(host: GitHost, path: string): HostedGitRepository | null {
  const segments = path.split('/');
  let project = segments.pop() ?? '';
  if (project.endsWith('.git')) project = project.slice(0, -4);
  // GitHub and Bitbucket: exactly user/project; GitLab: groups and subgroups before the project.
  if (host !== 'gitlab' && segments.length !== 1) return null;
  const user = segments.join('/');
  const safe = /^[A-Za-z0-9_.-]+$/;
  if (!project || !safe.test(project) || segments.length === 0 || !segments.every((s) => safe.test(s))) return null;
  const { domain, tarball } = HOSTS[host];
  return {
    host,
    user,
    project,
    httpsUrl: `https://${domain}/${user}/${project}.git`,
    sshUrl: `ssh://git@${domain}/${user}/${project}.git`,
    tarballUrl: (commit) => tarball(user, project, commit),
  };
}
