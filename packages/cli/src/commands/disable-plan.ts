import type { KubernetesObject } from '@kubernetes/client-node';
import { podIdentityCrds } from '@pod-identity/core';
import {
  createdByEnable,
  objectHeader,
  objectLabel,
  SETTINGS_CONFIG_MAP,
  SETTINGS_NAMESPACE,
  type ClusterClient,
} from '../cluster-client.js';
import { AKS_ADDON_EXCEPTION } from './aks-addon-exception.js';

/**
 * What it takes to delete a candidate: a CRD only with `--delete-crds` (it takes every object of its
 * kind with it), a namespace only with `--delete-namespaces` (it takes everything in it), and anything
 * else (a namespace too) only when `pod-identity enable` created it, or with `--delete-unowned`.
 */
type CandidateRule = 'crd' | 'namespace' | 'other';

/** An object `pod-identity disable` may delete. */
export interface DisableCandidate {
  /** apiVersion, kind, name and namespace of the object. */
  readonly header: KubernetesObject;
  readonly rule: CandidateRule;
}

/** The flags of `pod-identity disable` that widen what it deletes. */
export interface DisableScope {
  /** `--delete-crds`: also the CRDs (core's four and any in the manifest). */
  readonly deleteCrds: boolean;
  /** `--delete-namespaces`: also the namespaces the manifest declares. */
  readonly deleteNamespaces: boolean;
  /** `--delete-unowned`: also objects that `pod-identity enable` did not create. */
  readonly deleteUnowned: boolean;
}

/** What `pod-identity disable` will do, worked out before it deletes anything. */
export interface DisablePlan {
  /** The objects to delete, as read from the cluster (their UIDs guard the deletes), in order. */
  readonly delete: KubernetesObject[];
  /** Objects that exist and stay, each with the reason and the flag that would delete it. */
  readonly keep: { object: string; reason: string }[];
  /** Objects that would be deleted but that `pod-identity enable` did not create. */
  readonly notCreatedByEnable: string[];
}

/**
 * The objects `disable` considers, in the order it deletes them: the `aks-addon-exception` and the
 * settings ConfigMap (what `enable` always writes), the manifest's objects in reverse order (what
 * uses a thing goes before the thing), its namespaces, then the CRDs. Each object once.
 * @param manifest - the objects of `--nmi-manifest`, in file order (empty without one)
 */
export function disableCandidates(manifest: readonly KubernetesObject[]): DisableCandidate[] {
  const settings = objectHeader('v1', 'ConfigMap', SETTINGS_CONFIG_MAP, SETTINGS_NAMESPACE);

  const rules = manifest.map((object) => ({ header: object, rule: ruleOf(object) }));
  const ordered: DisableCandidate[] = [
    {
      header: objectHeader(
        AKS_ADDON_EXCEPTION.apiVersion,
        AKS_ADDON_EXCEPTION.kind,
        AKS_ADDON_EXCEPTION.metadata.name,
        AKS_ADDON_EXCEPTION.metadata.namespace,
      ),
      rule: 'other',
    },
    { header: settings, rule: 'other' },
    ...rules.filter((c) => c.rule === 'other').reverse(),
    ...rules.filter((c) => c.rule === 'namespace'),
    ...podIdentityCrds().map((crd) => ({
      header: objectHeader(crd.apiVersion, crd.kind, crd.metadata.name),
      rule: 'crd' as const,
    })),
    ...rules.filter((c) => c.rule === 'crd'),
  ];
  const seen = new Set<string>();
  return ordered.filter((candidate) => {
    const key = identityKey(candidate.header);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Reads each candidate from the cluster and decides: absent ones are left out, and each present one
 * is deleted or kept by its rule and the flags. Deletes nothing.
 */
export async function planDisable(
  cluster: ClusterClient,
  candidates: readonly DisableCandidate[],
  scope: DisableScope,
): Promise<DisablePlan> {
  const plan: DisablePlan = { delete: [], keep: [], notCreatedByEnable: [] };
  for (const candidate of candidates) {
    const existing = await cluster.readObject(candidate.header);
    if (existing === undefined) continue;
    const label = objectLabel(existing);
    if (candidate.rule === 'crd' && !scope.deleteCrds) {
      plan.keep.push({
        object: label,
        reason:
          'a CRD; deleting it deletes every object of its kind (identities, bindings, assignments): only with --delete-crds',
      });
      continue;
    }
    if (candidate.rule === 'namespace' && !scope.deleteNamespaces) {
      plan.keep.push({
        object: label,
        reason: 'a namespace; deleting it deletes everything in it: only with --delete-namespaces',
      });
      continue;
    }
    if (candidate.rule !== 'crd' && !createdByEnable(existing)) {
      plan.notCreatedByEnable.push(label);
      if (!scope.deleteUnowned) continue;
    }
    plan.delete.push(existing);
  }
  return plan;
}

function ruleOf(object: KubernetesObject): CandidateRule {
  if (object.kind === 'CustomResourceDefinition' && groupOf(object) === 'apiextensions.k8s.io')
    return 'crd';
  if (object.kind === 'Namespace' && groupOf(object) === '') return 'namespace';
  return 'other';
}

function groupOf(object: KubernetesObject): string {
  const apiVersion = object.apiVersion ?? '';
  return apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
}

// Two spellings of one object (another version of its group, no namespace for `default`) are one
// object to delete.
function identityKey(object: KubernetesObject): string {
  const namespaced = ruleOf(object) === 'other';
  return [
    groupOf(object),
    object.kind ?? '',
    namespaced ? (object.metadata?.namespace ?? 'default') : '',
    object.metadata?.name ?? '',
  ].join('/');
}
