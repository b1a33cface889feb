#!/usr/bin/env python3
"""Checks the container and deployment files against each other and against
the real server: Dockerfile.spatial, docker-compose.yml (with its postgres
service for the team registry), deploy/prometheus.yml, deploy/grafana/ and
deploy/k8s/ (with the Secret template examples/credentials.yaml).

  deploy_files_test.py --source-dir DIR --binary build/release/cli/spatial

Tools it runs (installed by scripts/install-deps.sh): yamllint, promtool
(package prometheus), docker-compose. The probe paths and metric names are
checked on a real `spatial serve` started on 127.0.0.1 port 0 with the
ConfigMap's settings.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import yaml

ARGS = None
YAMLLINT_CONFIG = ("{extends: default, rules: {line-length: {max: 100}, "
                   "document-start: disable}}")


def src(*parts):
    return os.path.join(ARGS.source_dir, *parts)


def read(path):
    with open(path) as f:
        return f.read()


def load_k8s():
    """All documents of deploy/k8s/*.yaml by (kind, name)."""
    docs = {}
    k8s = src("deploy", "k8s")
    for name in sorted(os.listdir(k8s)):
        if not name.endswith(".yaml") or name == "kustomization.yaml":
            continue
        with open(os.path.join(k8s, name)) as f:
            for doc in yaml.safe_load_all(f):
                docs[(doc["kind"], doc["metadata"]["name"])] = doc
    return docs


def dockerfile_runtime():
    """Instructions of the Dockerfile's last stage as (KEYWORD, rest)."""
    with open(src("Dockerfile.spatial")) as f:
        text = f.read().replace("\\\n", " ")
    stages, cur = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            cur = []
            stages.append((rest, cur))
        if cur is not None:
            cur.append((word.upper(), rest.strip()))
    return stages


class Server:
    """`spatial serve` on 127.0.0.1 port 0 with the given environment."""

    def __init__(self, env, cwd=None):
        self.dir = tempfile.TemporaryDirectory()
        port_file = os.path.join(self.dir.name, "port")
        self.log = open(os.path.join(self.dir.name, "log"), "w+")
        self.proc = subprocess.Popen(
            [ARGS.binary, "serve", "--address", "127.0.0.1", "--port", "0",
             "--port-file", port_file],
            cwd=cwd or ARGS.source_dir, env=env, stdout=self.log, stderr=self.log)
        deadline = time.time() + 60
        while not os.path.exists(port_file) or not read(port_file).strip():
            if self.proc.poll() is not None or time.time() > deadline:
                self.log.seek(0)
                raise RuntimeError("server did not start: " + self.log.read())
            time.sleep(0.05)
        self.base = "http://127.0.0.1:" + read(port_file).strip()

    def get(self, path):
        try:
            with urllib.request.urlopen(self.base + path, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def wait_ready(self):
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.get("/v2/health/ready")[0] == 200:
                return True
            time.sleep(0.1)
        return False

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        self.log.close()
        self.dir.cleanup()
        return code


class YamlToolsTest(unittest.TestCase):
    # Every YAML file is lint-clean; the Prometheus config passes promtool;
    # the compose file passes docker-compose config.
    def test_yamllint(self):
        files = [src("docker-compose.yml"), src("deploy")]
        r = subprocess.run(["yamllint", "-f", "parsable", "-d", YAMLLINT_CONFIG] + files,
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_promtool_check_config(self):
        r = subprocess.run(["promtool", "check", "config", src("deploy", "prometheus.yml")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_prometheus_scrapes_the_api_service(self):
        with open(src("deploy", "prometheus.yml")) as f:
            prom = yaml.safe_load(f)
        with open(src("docker-compose.yml")) as f:
            compose = yaml.safe_load(f)
        job = [j for j in prom["scrape_configs"] if j["job_name"] == "pizza-api-spatial"]
        self.assertEqual(len(job), 1)
        self.assertEqual(job[0]["metrics_path"], "/metrics")
        targets = [t for sc in job[0]["static_configs"] for t in sc["targets"]]
        self.assertEqual(targets, ["pizza-api-spatial:8001"])
        self.assertIn("pizza-api-spatial", compose["services"])

    def test_docker_compose_config(self):
        r = subprocess.run(["docker-compose", "-f", src("docker-compose.yml"), "config"],
                           capture_output=True, text=True, cwd=ARGS.source_dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        api = yaml.safe_load(r.stdout)["services"]["pizza-api-spatial"]
        self.assertEqual(api["build"]["dockerfile"], "Dockerfile.spatial")
        self.assertIn("8001", api["ports"][0])
        test = " ".join(api["healthcheck"]["test"])
        self.assertIn("http://127.0.0.1:8001/health", test)
        self.assertTrue(all("8001" in p or "9090" in p or "3000" in p or "5432" in p
                            for s in yaml.safe_load(r.stdout)["services"].values()
                            for p in s.get("ports", [])))


# The URL the compose file documents for the team registry.
COMPOSE_REGISTRY_URL = "postgresql://spatial@postgres:5432/spatial_registry"


def url_has_password(url):
    """Whether a postgresql:// URL carries a password (user:pw@ or ?password=)."""
    rest = url.split("://", 1)[1]
    userinfo = rest.split("/", 1)[0]
    return ("@" in userinfo and ":" in userinfo.rsplit("@", 1)[0]) or \
        re.search(r"[?&]password=", url, re.I) is not None


class ComposePostgresTest(unittest.TestCase):
    # The postgres service: the official image, data on a named volume, ready
    # by pg_isready, password from a secret file. pizza-api-spatial reaches
    # it with a password-free URL from SPATIAL_REGISTRY and a .pgpass secret.
    @classmethod
    def setUpClass(cls):
        env = dict(os.environ, SPATIAL_REGISTRY=COMPOSE_REGISTRY_URL)
        cls.result = subprocess.run(
            ["docker-compose", "-f", src("docker-compose.yml"), "config"],
            capture_output=True, text=True, cwd=ARGS.source_dir, env=env)
        cls.config = yaml.safe_load(cls.result.stdout) if cls.result.returncode == 0 else None

    def setUp(self):
        self.assertEqual(self.result.returncode, 0, self.result.stderr)
        self.pg = self.config["services"]["postgres"]
        self.api = self.config["services"]["pizza-api-spatial"]

    def secret_file(self, service, path):
        """The top-level secret file of a /run/secrets/NAME path `service` mounts."""
        self.assertTrue(path.startswith("/run/secrets/"), path)
        name = path[len("/run/secrets/"):]
        self.assertIn(name, [x["source"] for x in service.get("secrets", [])])
        return self.config["secrets"][name]["file"]

    def test_postgres_service(self):
        self.assertRegex(self.pg["image"], r"^postgres:\d+(-bookworm)?$")
        test = self.pg["healthcheck"]["test"]
        self.assertEqual(test[:2], ["CMD", "pg_isready"])
        self.assertIn(self.pg["environment"]["POSTGRES_USER"], test)
        data = [v for v in self.pg["volumes"]
                if v.split(":")[1] == "/var/lib/postgresql/data"]
        self.assertEqual(len(data), 1, self.pg["volumes"])
        self.assertIn(data[0].split(":")[0], self.config["volumes"], "a named volume")
        env = self.pg["environment"]
        self.assertNotIn("POSTGRES_PASSWORD", env, "the password only from a file")
        f = self.secret_file(self.pg, env["POSTGRES_PASSWORD_FILE"])
        self.assertTrue(f.endswith("deploy/postgres/password"), f)
        for p in self.pg.get("ports", []):
            self.assertTrue(str(p).startswith("127.0.0.1:"), p)

    def test_api_uses_it_without_a_password_in_the_url(self):
        env = self.api["environment"]
        url = env["SPATIAL_REGISTRY"]
        self.assertEqual(url, COMPOSE_REGISTRY_URL)
        self.assertFalse(url_has_password(url))
        m = re.match(r"postgresql://([^@]+)@([^:/]+):(\d+)/([^?]+)", url)
        self.assertTrue(m, url)
        pg_env = self.pg["environment"]
        self.assertEqual(m.group(1), pg_env["POSTGRES_USER"])
        self.assertIn(m.group(2), self.config["services"])
        self.assertEqual(m.group(4), pg_env["POSTGRES_DB"])
        self.assertEqual(self.api["depends_on"][m.group(2)]["condition"], "service_healthy")
        f = self.secret_file(self.api, env["PGPASSFILE"])
        self.assertTrue(f.endswith("deploy/postgres/pgpass"), f)
        store = [v for v in self.api["volumes"] if v.split(":")[1] == env["SPATIAL_STORE"]]
        self.assertEqual(len(store), 1, self.api["volumes"])
        self.assertIn(store[0].split(":")[0], self.config["volumes"])
        # Not a word of any password in the whole resolved file.
        self.assertNotRegex(self.result.stdout, r"(?i)password[ \t]*[:=][ \t]*[^/\s]")

    def test_the_registry_is_off_unless_asked_for(self):
        env = {k: v for k, v in os.environ.items() if k != "SPATIAL_REGISTRY"}
        r = subprocess.run(["docker-compose", "-f", src("docker-compose.yml"), "config"],
                           capture_output=True, text=True, cwd=ARGS.source_dir, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        api = yaml.safe_load(r.stdout)["services"]["pizza-api-spatial"]
        self.assertEqual(api["environment"]["SPATIAL_REGISTRY"], "")

    def test_secret_files_are_git_ignored(self):
        ignored = read(src(".gitignore")).splitlines()
        for f in ("deploy/postgres/password", "deploy/postgres/pgpass"):
            self.assertIn(f, ignored, f + " is not git-ignored")


class DockerfileTest(unittest.TestCase):
    # The runtime stage is slim, non-root, exposes the server's port and has
    # an HTTP HEALTHCHECK; base images are pinned to a release.
    def test_runtime_stage(self):
        stages = dockerfile_runtime()
        self.assertGreaterEqual(len(stages), 2, "multi-stage")
        for base, _ in stages:
            self.assertRegex(base.split()[0], r"^debian:bookworm(-slim)?$")
        base, instr = stages[-1]
        self.assertEqual(base, "debian:bookworm-slim")
        kv = {}
        for word, rest in instr:
            kv.setdefault(word, []).append(rest)
        self.assertEqual(kv["EXPOSE"], ["8001"])
        self.assertIn("API_PORT=8001", kv["ENV"])
        user = kv["USER"][-1].split(":")[0]
        self.assertTrue(user.isdigit() and int(user) != 0, user)
        self.assertRegex(kv["HEALTHCHECK"][0], r"http://127\.0\.0\.1:\$\{API_PORT\}/")
        self.assertEqual(json.loads(kv["CMD"][0]), ["spatial", "serve", "--address", "0.0.0.0"])
        # The default runs the unsigned shipped bundles: development only.
        self.assertIn("ENVIRONMENT=development", kv["ENV"])
        runs = " ".join(kv["RUN"])
        self.assertNotRegex(runs, r"(-dev\b|build-essential|\bg\+\+|\bgcc\b|cmake)")


class K8sTest(unittest.TestCase):
    # The manifests agree with each other, with the Dockerfile and with
    # config/environments.json.
    @classmethod
    def setUpClass(cls):
        cls.docs = load_k8s()
        cls.dep = cls.docs[("Deployment", "pizza-api-spatial")]
        cls.pod = cls.dep["spec"]["template"]["spec"]
        cls.c = cls.pod["containers"][0]

    def test_image_port_and_user_match_the_dockerfile_and_compose(self):
        with open(src("docker-compose.yml")) as f:
            compose = yaml.safe_load(f)
        self.assertEqual(self.c["image"], compose["services"]["pizza-api-spatial"]["image"])
        self.assertEqual(self.c["ports"][0]["containerPort"], 8001)
        _, instr = dockerfile_runtime()[-1]
        uid = [r for w, r in instr if w == "USER"][-1].split(":")[0]
        self.assertTrue(self.pod["securityContext"]["runAsNonRoot"])
        self.assertEqual(self.pod["securityContext"]["runAsUser"], int(uid))
        self.assertFalse(self.c["securityContext"]["allowPrivilegeEscalation"])
        self.assertTrue(self.c["securityContext"]["readOnlyRootFilesystem"])

    def test_production_mounts_the_trusted_key(self):
        # Production serves only signed bundles: the public key comes from a
        # ConfigMap mounted where SPATIAL_TRUSTED_KEYS points.
        cfg = self.docs[("ConfigMap", "pizza-api-spatial-config")]["data"]
        self.assertEqual(cfg["ENVIRONMENT"], "production")
        key = cfg["SPATIAL_TRUSTED_KEYS"]
        vols = {v["name"]: v for v in self.pod["volumes"]}
        mount = [m for m in self.c["volumeMounts"] if key.startswith(m["mountPath"] + "/")]
        self.assertEqual(len(mount), 1, key)
        self.assertTrue(mount[0]["readOnly"])
        cm = vols[mount[0]["name"]]["configMap"]
        with open(src("deploy", "k8s", "examples", "trusted-keys.yaml")) as f:
            example = yaml.safe_load(f)
        self.assertEqual(example["metadata"]["name"], cm["name"])
        self.assertIn(key.rsplit("/", 1)[1], example["data"])

    def test_probes_and_resources(self):
        self.assertEqual(self.c["readinessProbe"]["httpGet"]["path"], "/v2/health/ready")
        self.assertEqual(self.c["livenessProbe"]["httpGet"]["path"], "/v2/health/live")
        for probe in ("readinessProbe", "livenessProbe"):
            self.assertEqual(self.c[probe]["httpGet"]["port"], self.c["ports"][0]["name"])
        for kind in ("requests", "limits"):
            self.assertIn("cpu", self.c["resources"][kind])
            self.assertIn("memory", self.c["resources"][kind])

    def test_service_and_hpa_point_at_the_deployment(self):
        svc = self.docs[("Service", "pizza-api-spatial")]
        labels = self.dep["spec"]["template"]["metadata"]["labels"]
        self.assertTrue(svc["spec"]["selector"].items() <= labels.items())
        self.assertEqual(svc["spec"]["ports"][0]["targetPort"], self.c["ports"][0]["name"])
        hpa = self.docs[("HorizontalPodAutoscaler", "pizza-api-spatial")]
        self.assertEqual(hpa["spec"]["scaleTargetRef"]["kind"], "Deployment")
        self.assertEqual(hpa["spec"]["scaleTargetRef"]["name"], self.dep["metadata"]["name"])
        self.assertLessEqual(hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"])

    def test_config_maps_exist_and_match_config(self):
        ref = self.c["envFrom"][0]["configMapRef"]["name"]
        self.assertIn(("ConfigMap", ref), self.docs)
        vol = [v for v in self.pod["volumes"] if "configMap" in v][0]
        envs = self.docs[("ConfigMap", vol["configMap"]["name"])]
        with open(src("config", "environments.json")) as f:
            self.assertEqual(json.loads(envs["data"]["environments.json"]), json.load(f))
        mount = [m for m in self.c["volumeMounts"] if m["name"] == vol["name"]][0]
        self.assertEqual(self.docs[("ConfigMap", ref)]["data"]["SPATIAL_CONFIG"],
                         mount["mountPath"] + "/environments.json")

    def test_secrets_only_by_reference(self):
        # A variable holds a secret only through a Secret reference; a
        # *_FILE variable names a file mounted from a Secret volume.
        secret_volumes = {v["name"] for v in self.docs[("Deployment", "pizza-api-spatial")]
                          ["spec"]["template"]["spec"].get("volumes", []) if "secret" in v}
        for e in self.c["env"]:
            if e["name"].endswith("_FILE"):
                mounts = [m for m in self.c["volumeMounts"]
                          if e["value"].startswith(m["mountPath"] + "/")]
                self.assertTrue(mounts and mounts[0]["name"] in secret_volumes, e["name"])
            else:
                self.assertIn("secretKeyRef", e.get("valueFrom", {}), e["name"])
        for (kind, _), doc in self.docs.items():
            self.assertNotEqual(kind, "Secret", "no Secret objects with values in the repo")

    def test_registry_url_from_the_secret(self):
        # SPATIAL_REGISTRY (a postgresql:// URL) comes from the Secret, as does
        # its password; SPATIAL_STORE names the shared artifact-store volume.
        env = {e["name"]: e for e in self.c["env"]}
        for name, key in (("SPATIAL_REGISTRY", "registry-url"), ("PGPASSWORD", "pgpassword")):
            ref = env[name]["valueFrom"]["secretKeyRef"]
            self.assertEqual((ref["name"], ref["key"]), ("pizza-api-spatial-secrets", key))
        store = self.docs[("ConfigMap", "pizza-api-spatial-config")]["data"]["SPATIAL_STORE"]
        mount = [m for m in self.c["volumeMounts"] if m["mountPath"] == store]
        self.assertEqual(len(mount), 1, store)
        vol = [v for v in self.pod["volumes"] if v["name"] == mount[0]["name"]][0]
        claim = vol["persistentVolumeClaim"]["claimName"]
        pvc = self.docs[("PersistentVolumeClaim", claim)]
        self.assertIn("ReadWriteMany", pvc["spec"]["accessModes"])

    def test_secret_template_matches_what_the_deployment_reads(self):
        # examples/credentials.yaml: the Secret's shape with placeholders only,
        # every key the Deployment reads, and not applied by kustomize.
        with open(src("deploy", "k8s", "examples", "credentials.yaml")) as f:
            secret = yaml.safe_load(f)
        self.assertEqual(secret["kind"], "Secret")
        self.assertEqual(secret["metadata"]["name"], "pizza-api-spatial-secrets")
        data = secret["stringData"]
        wanted = {e["valueFrom"]["secretKeyRef"]["key"] for e in self.c["env"]
                  if "secretKeyRef" in e.get("valueFrom", {})}
        for v in self.pod["volumes"]:
            if "secret" in v:
                wanted |= {i["key"] for i in v["secret"].get("items", [])}
        self.assertEqual(set(data), wanted)
        self.assertTrue(data["registry-url"].startswith("postgresql://"))
        self.assertFalse(url_has_password(data["registry-url"]))
        for key, value in data.items():
            self.assertIn("CHANGEME", value, key + " must be a placeholder")
        with open(src("deploy", "k8s", "kustomization.yaml")) as f:
            resources = yaml.safe_load(f)["resources"]
        self.assertFalse(any("examples" in r for r in resources), resources)
        for r in resources:
            self.assertTrue(os.path.exists(src("deploy", "k8s", r)), r)


class PodmanOverlayTest(unittest.TestCase):
    # deploy/k8s/podman (what `make fleet-test` plays) is deploy/k8s with
    # only its Deployment patched: no ports, numbered probe ports, no tokens
    # file; every other document and field is the shipped one.
    def test_overlay_changes_only_what_podman_needs(self):
        out = subprocess.run(
            [sys.executable, src("scripts", "kustomize-build.py"),
             src("deploy", "k8s", "podman")],
            capture_output=True, text=True, check=True).stdout
        rendered = {(d["kind"], d["metadata"]["name"]): d
                    for d in yaml.safe_load_all(out)}
        shipped = load_k8s()
        self.assertEqual(set(rendered), set(shipped))
        for key, doc in shipped.items():
            if key != ("Deployment", "pizza-api-spatial"):
                self.assertEqual(rendered[key], doc, key)
        dep = rendered[("Deployment", "pizza-api-spatial")]
        want = shipped[("Deployment", "pizza-api-spatial")]
        spec, wspec = dep["spec"]["template"]["spec"], want["spec"]["template"]["spec"]
        c, wc = spec["containers"][0], wspec["containers"][0]
        self.assertNotIn("ports", c)
        self.assertEqual(c["readinessProbe"]["httpGet"]["port"], 8001)
        self.assertEqual(c["livenessProbe"]["httpGet"]["port"], 8001)
        self.assertEqual([e["name"] for e in c["env"]],
                         ["SPATIAL_REGISTRY", "PGPASSWORD"])
        self.assertNotIn("secrets", [v["name"] for v in spec["volumes"]])
        self.assertNotIn("secrets", [m["name"] for m in c["volumeMounts"]])
        for k in ("image", "args", "envFrom", "resources", "securityContext"):
            self.assertEqual(c[k], wc[k], k)
        self.assertEqual(spec["securityContext"], wspec["securityContext"])
        self.assertEqual(dep["spec"]["replicas"], want["spec"]["replicas"])

    def test_renderer_refuses_what_it_does_not_render(self):
        d = tempfile.mkdtemp()
        try:
            with open(os.path.join(d, "kustomization.yaml"), "w") as f:
                f.write("resources: []\nnamePrefix: x-\n")
            r = subprocess.run(
                [sys.executable, src("scripts", "kustomize-build.py"), d],
                capture_output=True, text=True)
            self.assertEqual(r.returncode, 1)
            self.assertIn("namePrefix", r.stderr)
        finally:
            shutil.rmtree(d)


class AgainstRealServerTest(unittest.TestCase):
    # The server started with the ConfigMap's settings answers the probe
    # paths, and its /metrics has every metric and label the Grafana
    # dashboard queries (whose PromQL promtool parses).
    @classmethod
    def setUpClass(cls):
        docs = load_k8s()
        cm = docs[("ConfigMap", "pizza-api-spatial-config")]["data"]
        envs = docs[("ConfigMap", "pizza-api-spatial-environments")]["data"]
        cls.tmp = tempfile.TemporaryDirectory()
        config = os.path.join(cls.tmp.name, "environments.json")
        with open(config, "w") as f:
            f.write(envs["environments.json"])
        env = dict(os.environ, **cm)
        env["SPATIAL_CONFIG"] = config
        # Production serves only signed bundles: the shipped ones, signed now
        # with a key made for the test, whose public half is the one trusted
        # (where the Deployment mounts it, SPATIAL_TRUSTED_KEYS, here in tmp).
        keys = os.path.join(cls.tmp.name, "keys")
        subprocess.run([ARGS.binary, "keys", "generate", "--out", keys],
                       check=True, stdout=subprocess.DEVNULL)
        for b in ("spatial-pizza-v1", "standard-pizza-v1"):
            dest = os.path.join(cls.tmp.name, "models", b)
            shutil.copytree(src("models", b), dest,
                            ignore=shutil.ignore_patterns("model.sig"))
            subprocess.run([ARGS.binary, "model", "sign", dest, "--key",
                            os.path.join(keys, "signing.key")],
                           check=True, stdout=subprocess.DEVNULL)
        env["SPATIAL_TRUSTED_KEYS"] = os.path.join(keys, "signing.pub")
        cls.server = Server(env, cwd=cls.tmp.name)
        cls.ready = cls.server.wait_ready()
        with open(src("deploy", "grafana", "dashboards", "pizza-api-spatial.json")) as f:
            cls.dashboard = json.load(f)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.tmp.cleanup()

    def test_probe_paths(self):
        self.assertTrue(self.ready, "not ready within 60 s")
        dep = load_k8s()[("Deployment", "pizza-api-spatial")]
        c = dep["spec"]["template"]["spec"]["containers"][0]
        for probe in ("readinessProbe", "livenessProbe"):
            status, body = self.server.get(c[probe]["httpGet"]["path"])
            self.assertEqual(status, 200, body)
        self.assertEqual(self.server.get("/health")[0], 200)

    def exprs(self):
        return [t["expr"] for p in self.dashboard["panels"] for t in p["targets"]]

    def test_dashboard_metrics_and_labels_exist(self):
        self.assertTrue(self.ready)
        # One real prediction so that the per-model series exist.
        status, _ = self.server.get("/status")
        self.assertEqual(status, 200)
        data = os.path.join(self.tmp.name, "render")
        subprocess.run([ARGS.binary, "data", "render", "--out", data, "--per-class", "1"],
                       check=True, capture_output=True)
        subprocess.run([ARGS.binary, "bench", self.server.base + "/classify", "--image-dir",
                        data, "--requests", "6",
                        "--concurrency", "1", "--threads", "1", "--quiet"],
                       check=True, capture_output=True, cwd=ARGS.source_dir)
        status, metrics = self.server.get("/metrics")
        self.assertEqual(status, 200)
        series = {}  # metric name -> label names seen
        for line in metrics.splitlines():
            m = re.match(r"^([a-z_:]+)(\{([^}]*)\})?\s", line)
            if m:
                names = set(re.findall(r'([a-z_]+)="', m.group(3) or ""))
                series.setdefault(m.group(1), set()).update(names)
        used = set()
        for expr in self.exprs():
            names = re.findall(r"\b((?:pizza_api|process)_[a-z_]+)", expr)
            for name in names:
                used.add(name)
                self.assertIn(name, series, f"{name} (in {expr}) is not in /metrics")
                for lbl in re.findall(name + r'\{([a-z_]+)=', expr):
                    self.assertIn(lbl, series[name], f"{name} has no label {lbl}")
            # Every label an aggregation keeps exists on a metric it reads.
            for group in re.findall(r"by \(([^)]*)\)", expr):
                for lbl in (x.strip() for x in group.split(",")):
                    if lbl == "le":
                        continue
                    self.assertTrue(any(lbl in series[n] for n in names),
                                    f"no metric of {expr} has label {lbl}")
        for required in ("pizza_api_requests_total", "pizza_api_request_duration_seconds_bucket",
                         "pizza_api_inference_duration_seconds_bucket", "pizza_api_batch_size_sum",
                         "pizza_api_queue_depth", "pizza_api_predictions_total",
                         "pizza_api_fallbacks_total", "pizza_api_model_loads_total",
                         "pizza_api_model_info", "process_resident_memory_bytes",
                         "process_cpu_seconds_total"):
            self.assertIn(required, used, f"the dashboard does not graph {required}")

    def test_dashboard_promql_parses(self):
        rules = {"groups": [{"name": "dashboard", "rules": [
            {"record": f"dashboard:expr{i}", "expr": e} for i, e in enumerate(self.exprs())]}]}
        path = os.path.join(self.tmp.name, "rules.yml")
        with open(path, "w") as f:
            yaml.safe_dump(rules, f)
        r = subprocess.run(["promtool", "check", "rules", path], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--binary", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
