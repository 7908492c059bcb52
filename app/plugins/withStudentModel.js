// Config plugin (runs at `expo prebuild`, no native code of ours): adds the student that
// `edgedistill export-app` wrote (public/model/model.onnx and model.json) to the iOS app's
// resources, where the app reads them from the bundle. expo-asset's plugin refuses `.onnx`.
const path = require('path');
const { IOSConfig, withXcodeProject } = require('expo/config-plugins');

module.exports = function withStudentModel(config, { files }) {
  return withXcodeProject(config, (config) => {
    const project = config.modResults;
    const { platformProjectRoot, projectRoot } = config.modRequest;
    IOSConfig.XcodeUtils.ensureGroupRecursively(project, 'Resources');
    for (const file of files) {
      IOSConfig.XcodeUtils.addResourceFileToGroup({
        filepath: path.relative(platformProjectRoot, path.join(projectRoot, file)),
        groupName: 'Resources',
        project,
        isBuildFile: true,
      });
    }
    return config;
  });
};
