{ pkgs, nodejs ? pkgs.nodejs_22 }:

let
  inherit (pkgs) lib;
  packageJson = lib.importJSON ../package.json;

  # Build inputs are what npm would pack; local state (node_modules, ./data, ./.dev) never enters the store.
  localState = [ "node_modules" "data" ".dev" ".bench" "coverage" "result" "artifacts" ];
  src = lib.cleanSourceWith {
    src = lib.cleanSource ../.;
    filter = path: _type: !(builtins.elem (baseNameOf path) localState);
  };
in
pkgs.buildNpmPackage {
  pname = "plinth";
  inherit (packageJson) version;
  inherit src nodejs;

  # Placeholder: the first `nix build` fails with "hash mismatch ... got: sha256-..." and prints the
  # real hash of the dependencies in package-lock.json; put that value here. Update it whenever the
  # lockfile changes.
  npmDepsHash = lib.fakeHash;

  # `npm run build` bundles the server into dist/main.mjs with esbuild; package.json's `files`
  # makes that bundle what gets installed.
  npmBuildScript = "build";

  # package.json's allowScripts turns every dependency install script off; native modules
  # (@node-rs/argon2, esbuild) come as prebuilt optional packages. `prepare` installs git hooks,
  # which have no place in a build.
  npmFlags = [ "--ignore-scripts" ];
  npmRebuildFlags = [ "--ignore-scripts" ];

  # A compiled wrapper rather than a shell script, so that the OCI image (nix/image.nix) needs no shell.
  nativeBuildInputs = [ pkgs.makeBinaryWrapper ];

  # buildNpmPackage installs the packed files and the production node_modules under
  # $out/lib/node_modules/plinth. The bundle is run by absolute path so that the wrapper works from
  # any working directory: DATA_DIR (default ./data) stays relative to where `plinth` is started.
  postInstall = ''
    libDir=$out/lib/node_modules/${packageJson.name}
    makeWrapper ${nodejs}/bin/node $out/bin/plinth \
      --add-flags "--enable-source-maps" \
      --add-flags "$libDir/dist/main.mjs" \
      --set-default NODE_ENV production
  '';

  meta = {
    description = packageJson.description;
    license = lib.licenses.mit;
    mainProgram = "plinth";
    platforms = nodejs.meta.platforms;
  };
}
