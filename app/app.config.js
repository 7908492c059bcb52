// app.json plus what depends on the build machine: the student that `edgedistill export-app`
// wrote is embedded in the iOS app (plugins/withStudentModel.js) when it is there.
const fs = require('fs');
const path = require('path');

const MODEL_FILES = ['public/model/model.onnx', 'public/model/model.json'];

module.exports = ({ config }) => {
  const present = MODEL_FILES.filter((file) => fs.existsSync(path.join(__dirname, file)));
  if (present.length !== MODEL_FILES.length) return config;
  return {
    ...config,
    plugins: [...(config.plugins ?? []), ['./plugins/withStudentModel', { files: present }]],
  };
};
