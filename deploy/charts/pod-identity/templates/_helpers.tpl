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
{{- printf "%s/%s:%s" .Values.image.repository .Values.mic.image (default .Chart.AppVersion .Values.mic.tag) -}}
{{- end -}}

{{- define "pod-identity.nmi.image" -}}
{{- printf "%s/%s:%s" .Values.image.repository .Values.nmi.image (default .Chart.AppVersion .Values.nmi.tag) -}}
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
