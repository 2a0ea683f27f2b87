{{/* The chart name, or nameOverride. */}}
{{- define "pod-identity.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The release-qualified name. A release whose name already contains the chart name is used as is, so
`helm install aad-pod-identity` gives `aad-pod-identity-mic` and `aad-pod-identity-nmi`, the names of
the Go original's chart. Truncated so that "-mic"/"-nmi" still fit the 63-character DNS label limit.
*/}}
{{- define "pod-identity.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 59 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 59 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 59 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "pod-identity.mic.fullname" -}}
{{- printf "%s-mic" (include "pod-identity.fullname" .) -}}
{{- end -}}

{{- define "pod-identity.nmi.fullname" -}}
{{- printf "%s-nmi" (include "pod-identity.fullname" .) -}}
{{- end -}}

{{- define "pod-identity.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every object; `component` is added per object. */}}
{{- define "pod-identity.labels" -}}
app.kubernetes.io/name: {{ include "pod-identity.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ include "pod-identity.chart" . }}
{{- end -}}

{{- define "pod-identity.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pod-identity.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "pod-identity.mic.image" -}}
{{- printf "%s/%s:%s" (include "pod-identity.repository" .) .Values.mic.image (include "pod-identity.tag" (dict "context" . "component" "mic")) -}}
{{- end -}}

{{- define "pod-identity.nmi.image" -}}
{{- printf "%s/%s:%s" (include "pod-identity.repository" .) .Values.nmi.image (include "pod-identity.tag" (dict "context" . "component" "nmi")) -}}
{{- end -}}

{{/* True (non-empty) in standard mode, the only mode that runs MIC. */}}
{{- define "pod-identity.standard" -}}
{{- if eq .Values.operationMode "standard" -}}true{{- end -}}
{{- end -}}

{{/* Namespaced matching: asked for, or implied by managed mode (NMI refuses managed mode without it). */}}
{{- define "pod-identity.forceNamespaced" -}}
{{- if or (eq .Values.operationMode "managed") (eq (toString .Values.forceNamespaced) "true") -}}true{{- end -}}
{{- end -}}

{{/* The rules of files/rbac/<file> (a copy of deploy/rbac/<file>), as JSON. */}}
{{- define "pod-identity.rbacRules" -}}
{{- $path := printf "files/rbac/%s" .file -}}
{{- $role := .context.Files.Get $path | fromYaml -}}
{{- if not $role.rules -}}
{{- fail (printf "%s has no rules: run `pnpm gen:manifests` to copy deploy/rbac into the chart" $path) -}}
{{- end -}}
{{- $role.rules | toJson -}}
{{- end -}}

{{/* True (non-empty) when a rule is about coordination.k8s.io leases. */}}
{{- define "pod-identity.isLeaseRule" -}}
{{- if and (has "coordination.k8s.io" .apiGroups) (has "leases" .resources) -}}true{{- end -}}
{{- end -}}

{{/*
The defaults that `""` stands for, and whose types ("8085" to a number, "true" to a boolean) the values of
the AAD Pod Identity chart are converted to. Helm does not let templates read values.yaml itself, so
these repeat it; deploy/test/go-chart-values.test.ts fails when the two differ.
*/}}
{{- define "pod-identity.defaults" -}}
image:
  repository: ghcr.io/pod-identity
  imagePullPolicy: IfNotPresent
operationMode: standard
forceNamespaced: false
installMICException: true
mic:
  image: mic
  replicas: 2
  logVerbosity: 0
  loggingFormat: text
  leaderElection:
    name: aad-pod-identity-mic
    duration: 15s
  probePort: 8080
  prometheusPort: 8888
  syncRetryDuration: 3600s
  createDeleteBatch: 20
  clientQps: 5
  cloudConfig: /etc/kubernetes/azure.json
  customCloud:
    enabled: false
    configPath: /etc/kubernetes/akscustom.json
  updateUserMSIMaxRetry: 2
  updateUserMSIRetryInterval: 1s
  identityAssignmentReconcileInterval: 3m
nmi:
  image: nmi
  logVerbosity: 0
  loggingFormat: text
  ipTableUpdateTimeIntervalInSeconds: 60
  exceptionMatch: any
  probePort: 8085
  prometheusPort: 9090
  retryAttemptsForCreated: 16
  retryAttemptsForAssigned: 4
  findIdentityRetryIntervalInSeconds: 5
  enableScaleFeatures: true
  blockInstanceMetadata: false
  metadataHeaderRequired: true
  allowNetworkPluginKubenet: false
  kubeletConfig: /etc/default/kubelet
  setRetryAfterHeader: false
  enableConntrackDeletion: false
rbac:
  enabled: true
  allowAccessToSecrets: true
  createUserFacingClusterRoles: false
podMonitor:
  enabled: false
serviceMonitor:
  enabled: false
prometheusRule:
  enabled: false
grafanaDashboard:
  enabled: false
{{- end -}}

{{/*
Makes the values of the AAD Pod Identity chart (4.1.x) mean what they meant there, in place: that chart
took most settings as strings, so `""` means "the default" (pod-identity.defaults), "8085" a number
and "true" a boolean (also what `--set-string` gives). Every template includes it first; it is
idempotent, so the order helm renders templates in does not matter. Prints nothing.
*/}}
{{- define "pod-identity.normalizeValues" -}}
{{- include "pod-identity.normalizeMap" (list .Values (include "pod-identity.defaults" . | fromYaml)) -}}
{{- end -}}

{{/* One level of pod-identity.normalizeValues: (list values defaults), descending into maps. */}}
{{- define "pod-identity.normalizeMap" -}}
{{- $values := index . 0 -}}
{{- $defaults := index . 1 -}}
{{- range $key, $default := $defaults -}}
{{- $value := index $values $key -}}
{{- if and (kindIs "map" $default) (kindIs "map" $value) -}}
{{- include "pod-identity.normalizeMap" (list $value $default) -}}
{{- else if and (kindIs "string" $value) (eq $value "") -}}
{{- $_ := set $values $key $default -}}
{{- else if and (kindIs "string" $value) (kindIs "bool" $default) -}}
{{- $_ := set $values $key (eq (lower $value) "true") -}}
{{- else if and (kindIs "string" $value) (kindIs "float64" $default) -}}
{{- $_ := set $values $key (ternary (float64 $value) (int64 $value) (contains "." $value)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The image repository: the Go original's registry path means this chart's default one. */}}
{{- define "pod-identity.repository" -}}
{{- if eq .Values.image.repository "mcr.microsoft.com/oss/azure/aad-pod-identity" -}}
{{- (include "pod-identity.defaults" . | fromYaml).image.repository -}}
{{- else -}}
{{- .Values.image.repository -}}
{{- end -}}
{{- end -}}

{{/* True (non-empty) when the tag is a release of the Go original (v1.0 to v1.8), whose images take other flags. */}}
{{- define "pod-identity.isGoTag" -}}
{{- if regexMatch "^v1\\.[0-8]\\." (toString .) -}}true{{- end -}}
{{- end -}}

{{/* The tag of one component's image: empty or a Go original's release tag mean the chart's appVersion. */}}
{{- define "pod-identity.tag" -}}
{{- $tag := toString (index .context.Values .component).tag -}}
{{- if or (eq $tag "") (include "pod-identity.isGoTag" $tag) -}}
{{- .context.Chart.AppVersion -}}
{{- else -}}
{{- $tag -}}
{{- end -}}
{{- end -}}
